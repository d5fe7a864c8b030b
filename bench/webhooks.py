"""`make bench-webhooks`: signed Stripe webhooks per second through one gunicorn worker.

gunicorn serves the production settings (bench/settings.py, as the soak uses) with one
sync worker; Stripe is the tests' fake API over HTTP on loopback, so dj-stripe's
re-fetch of every event's object goes through stripe-python and its HTTP client for
real. The driver sends a rotation of the events a membership site gets (a subscription
flipping between active and canceled, an invoice paid, a payment failing), each built
from tests/billing/fixtures and signed as Stripe signs them, to the real endpoint:
first from one client (each event's own latency), then from two (the worker never
waits for the driver: its capacity). Reports events/s and p50/p99 latency per phase and
per event type to stdout and bench/results/webhooks.json. What bounds it: see
bench/webhook_profile.py.

Its own database, Redis db and ports: BENCH_DATABASE_URL / BENCH_REDIS_URL and --port /
--stripe-port, as bench/soak.py.
"""

import argparse
import http.client
import itertools
import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import RESULTS, gunicorn, say  # noqa: E402
from bench.soak import bench_env, members, prepare_database  # noqa: E402
from bench.timeline import summary_ms  # noqa: E402

PORT, STRIPE_PORT = 8104, 12112
KINDS = ("customer.subscription.updated", "invoice.paid", "invoice.payment_failed")


class Driver:
    """Builds and sends the events; one lock around the fake's state and the rotation."""

    def __init__(self, fake, subs: list[str], path: str, port: int) -> None:  # type: ignore[no-untyped-def]
        self.fake, self.path, self.port = fake, path, port
        self.next = itertools.cycle(itertools.product(KINDS, subs)).__next__
        self.lock = threading.Lock()

    def event(self) -> tuple[str, str, dict[str, str]]:
        from bench import stripe_http
        from tests.billing import stripe_builders as build

        with self.lock:
            kind, sub_id = self.next()
            fake = self.fake
            if kind == "customer.subscription.updated":
                active = fake.get(sub_id)["status"] == "active"
                obj = fake.update(sub_id, status="canceled" if active else "active")
            elif kind == "invoice.paid":
                obj = build.invoice(fake, subscription_id=sub_id, status="paid")
            else:
                fake.update(sub_id, status="past_due")
                obj = build.invoice(fake, subscription_id=sub_id, status="open")
            body, headers = stripe_http.signed(fake, kind, obj)
        return kind, body, headers

    def send(self, count: int, results: list[tuple[str, int, float]]) -> None:
        from bench import stripe_http

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for _ in range(count):
            kind, body, headers = self.event()
            status, seconds = stripe_http.post(conn, self.path, body, headers)
            results.append((kind, status, seconds))
        conn.close()


def phase(driver: Driver, *, clients: int, events: int) -> dict:
    results: list[tuple[str, int, float]] = []
    threads = [
        threading.Thread(target=driver.send, args=(events // clients, results))
        for _ in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    for kind, _, seconds in results:
        by_kind[kind].append(seconds)
    return {
        "clients": clients,
        "events": len(results),
        "errors": sum(1 for _, status, _ in results if status != 200),
        "seconds": round(elapsed, 2),
        "events_per_second": round(len(results) / elapsed, 1),
        "latency": summary_ms([seconds for _, _, seconds in results]),
        "by_type": {kind: summary_ms(values) for kind, values in sorted(by_kind.items())},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=600, help="per phase")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--stripe-port", type=int, default=STRIPE_PORT)
    args = parser.parse_args()
    os.environ.update(bench_env(stripe_port=args.stripe_port))
    os.chdir(ROOT)
    say(f"Webhooks: one sync worker on 127.0.0.1:{args.port}, {args.events} events per phase")
    prepare_database()
    fake, made, path = members(args.members, port=args.port)
    from bench import stripe_http

    server = stripe_http.serve(fake, port=args.stripe_port)
    driver = Driver(fake, [sub for _, _, sub in made], path, args.port)
    with gunicorn(args.port, "bench.settings", "sync", workers=1, pin=False):
        phase(driver, clients=1, events=args.warmup)
        phases = [phase(driver, clients=n, events=args.events) for n in (1, 2)]
    server.shutdown()
    report = {"worker": "sync x1", "members": args.members, "phases": phases}
    say(json.dumps(report, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhooks.json").write_text(json.dumps(report, indent=1))
    ok = not any(p["errors"] for p in phases)
    say("PASS: every webhook answered 200" if ok else "FAIL: webhooks answered errors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

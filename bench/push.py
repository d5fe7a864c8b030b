"""Push latency of events: a change's commit -> the receiver has the signed request.

A bounded run on 127.0.0.1. It creates its own database, starts the real worker
(`manage.py procrastinate worker`, as `make run` does) and a receiver on loopback that
verifies every request with the standardwebhooks library, then commits `--events`
changes (each writes its event, delivery and job in one transaction, as a webhook or a
sign-out does) paced `--interval` apart, and a burst of `--burst` in one go. Latency is
the receiver's arrival time minus the moment the change's transaction committed.
Prints p50/p99/max per phase and writes bench/results/push.json.

    .venv/bin/python bench/push.py --events 300 --burst 200
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable

ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "DATABASE_URL": os.environ.get(
        "PUSH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tollgate_bench_push"
    ),
    "TEST_REDIS_URL": os.environ.get("PUSH_REDIS_URL", "redis://127.0.0.1:6379/12"),
}
RECEIVER_PORT = int(os.environ.get("PUSH_RECEIVER_PORT", "8520"))


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.rejected = 0
        self.lock = threading.Lock()
        self.secret = ""

    def wait_for(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(i in self.at for i in ids):
                    return
            time.sleep(0.01)


def receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy

        def do_POST(self) -> None:
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                Webhook(arrivals.secret).verify(body, dict(self.headers.items()))
                status = 204
                with arrivals.lock:
                    arrivals.at.setdefault(self.headers["webhook-id"], arrived)
            except WebhookVerificationError:
                status = 400
                arrivals.rejected += 1
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def commit_one(user_id: int, n: int) -> tuple[str, float]:
    """One change in its own transaction; returns the event id and the commit time."""
    from django.db import transaction

    from apps.events import services
    from apps.events.models import SESSION_ENDED

    with transaction.atomic():
        event = services.event_emit(
            event_type=SESSION_ENDED,
            user_id=user_id,
            data={"session": {"id": f"{n:032x}"}, "reason": "ended"},
        )
    committed = time.time()
    assert event is not None
    return event.id, committed


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50_ms": round(cuts[49], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(ordered[-1], 1),
        "min_ms": round(ordered[0], 1),
    }


def run_phase(
    name: str, arrivals: Arrivals, user_id: int, count: int, interval: float
) -> dict[str, Any]:
    sent: list[tuple[str, float]] = []
    for n in range(count):
        sent.append(commit_one(user_id, n))
        if interval:
            time.sleep(interval)
    arrivals.wait_for([i for i, _ in sent], timeout=60 + count * 0.1)
    latencies = [(arrivals.at[i] - c) * 1000 for i, c in sent if i in arrivals.at]
    result = {"phase": name, "interval_s": interval, **percentiles(latencies)}
    result["lost"] = count - len(latencies)
    print(
        f"{name:<22} n={result['n']:>4}  p50 {result['p50_ms']:>7.1f} ms  "
        f"p99 {result['p99_ms']:>7.1f} ms  max {result['max_ms']:>7.1f} ms  lost {result['lost']}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="paced changes")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between them")
    parser.add_argument("--burst", type=int, default=200, help="changes committed back to back")
    args = parser.parse_args()

    os.environ.update(ENV)
    subprocess.run([PYTHON, "scripts/createdb.py"], cwd=ROOT, check=True, env=os.environ)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True, env=os.environ
    )
    import django

    django.setup()
    from django.db import connection

    from apps.accounts.models import User
    from apps.events.models import Endpoint, Event
    from apps.events.tasks import QUEUE

    Event.objects.all().delete()
    Endpoint.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_periodic_defers")
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", [QUEUE])
    user, _ = User.objects.get_or_create(email="push-bench@example.com")
    arrivals = Arrivals()
    server = receiver(arrivals)
    endpoint = Endpoint.objects.create(
        name="bench", url=f"http://127.0.0.1:{RECEIVER_PORT}/hooks", event_types=["session.ended"]
    )
    arrivals.secret = endpoint.secret
    worker = subprocess.Popen([PYTHON, "manage.py", "procrastinate", "worker"], cwd=ROOT)
    try:
        # Warm the worker (imports, connection, keep-alive) before measuring.
        run_phase("warm-up", arrivals, user.pk, 20, 0.05)
        results = [
            run_phase(
                f"paced ({args.interval * 1000:g} ms apart)",
                arrivals,
                user.pk,
                args.events,
                args.interval,
            ),
            run_phase("burst", arrivals, user.pk, args.burst, 0),
        ]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        server.shutdown()
    print(f"rejected signatures: {arrivals.rejected}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "push.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

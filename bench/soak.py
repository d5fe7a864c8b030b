"""`make soak`: signed-in members hammer a gated page while their subscriptions flip.

A bounded run on 127.0.0.1 (default 60 s). gunicorn serves the production settings;
Stripe is the tests' fake API served over HTTP on loopback, so dj-stripe's re-fetch on
every webhook goes through stripe-python for real. A driver flips random members
between active and canceled through signed webhooks. Every page answer is checked
against that timeline: a request sent after a revoking webhook returned 200, whose
answer came back before the next grant began, must be denied. Reports requests served,
errors and stale grants (all must be 0) to stdout and bench/results/soak.json, with the
latency of every revocation, measured two ways (bench/timeline.py): from the revoking
webhook's 200 back at the driver to the first denial any client got for that member
(which waits for the member to be asked again), and to the answer of the request the
driver sends as that member at once after the 200 (the probe; also judged, so a grant
there is a stale grant).

Its own database, Redis db and ports: BENCH_DATABASE_URL / BENCH_REDIS_URL (default the
bench's own) and --port / --stripe-port. bench/soak_hosts.py runs it across three app
hosts instead (webhooks on one, members read on the two others).
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import ENV, RESULTS, SESSION_COOKIE, gunicorn, say  # noqa: E402
from bench.timeline import Timeline, summary_ms  # noqa: E402

PORT, STRIPE_PORT = 8103, 12111


def bench_env(*, stripe_port: int) -> dict[str, str]:
    """The bench's environment, with BENCH_DATABASE_URL / BENCH_REDIS_URL if set."""
    return {
        **ENV,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", ENV["DATABASE_URL"]),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", ENV["REDIS_URL"]),
        "BENCH_STRIPE_API_HOST": f"http://127.0.0.1:{stripe_port}",
    }


def prepare_database() -> None:
    subprocess.run([sys.executable, "scripts/createdb.py"], cwd=ROOT, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )


def members(count: int, *, port: int):  # type: ignore[no-untyped-def]
    """Create `count` paying members; returns (fake, [(user_id, cookie, sub_id)], endpoint path)."""
    import django

    django.setup()
    from bench import stripe_http
    from bench.fixtures import install_fake_stripe, member, pro_price

    fake = install_fake_stripe()
    price_id = pro_price(fake)
    path = stripe_http.webhook_path(base_url=f"http://127.0.0.1:{port}")
    result = []
    for index in range(count):
        user, cookie, sub_id = member(fake, email=f"soak-{index}@example.com", price_id=price_id)
        result.append((user.pk, cookie, sub_id))
    return fake, result, path


class Pages:
    """One keep-alive connection asking for the gated page, and the judge of answers.

    `allowance`: how long after a revocation's 200 a grant is still within the bound
    (0 on the host that took the webhook; REDIS_NEAR_CACHE_LIVENESS on the others).
    """

    def __init__(
        self,
        port: int,
        timeline: Timeline,
        tally: dict,
        lock: threading.Lock,
        *,
        address: str = "127.0.0.1",
        allowance: float = 0.0,
        path: str = "/bench/gated",
        cookie_name: str = SESSION_COOKIE,
    ) -> None:
        self.port, self.timeline, self.tally, self.lock = port, timeline, tally, lock
        self.address, self.allowance = address, allowance
        self.path, self.cookie_name = path, cookie_name
        self.conn = http.client.HTTPConnection(address, port, timeout=10)

    def ask(self, member: int, cookie: str) -> tuple[int, float]:
        """Request the page as `member`, judge the answer; (status, when it came back)."""
        sent = time.monotonic()
        request_id = None
        try:
            headers = {"Cookie": f"{self.cookie_name}={cookie}"}
            self.conn.request("GET", self.path, headers=headers)
            response = self.conn.getresponse()
            response.read()
            status, request_id = response.status, response.getheader("X-Request-ID")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
            status = -1
        received = time.monotonic()
        self.judge(member, sent, received, status, request_id)
        return status, received

    def judge(
        self, member: int, sent: float, received: float, status: int, request_id: str | None
    ) -> None:
        timeline, tally = self.timeline, self.tally
        with self.lock:
            tally["requests"] += 1
            if status == 200:
                tally["granted"] += 1
                if timeline.must_deny(member, sent - self.allowance, received):
                    tally["stale_grants"] += 1
                    # Enough to find the request in the server's log and the flips it saw.
                    with timeline.lock:
                        flips = [asdict(f) for f in timeline.flips[member][-3:]]
                    tally.setdefault("stale_details", []).append(
                        {
                            "member": member,
                            "request_id": request_id,
                            "sent": sent,
                            "received": received,
                            "flips": flips,
                        }
                    )
                elif self.allowance and timeline.must_deny(member, sent, received):
                    tally["granted_within_bound"] += 1
            elif status == 302:
                tally["denied"] += 1
                timeline.denied(member, received)
            else:
                tally["errors"] += 1


def hammer(stop: float, cookies: list[tuple[int, str]], pages: Pages) -> None:
    while time.monotonic() < stop:
        pages.ask(*random.choice(cookies))


def flip(
    stop: float,
    fake,  # type: ignore[no-untyped-def]
    made: list[tuple[int, str, str]],
    path: str,
    pages: Pages,
    probes: list[float],
) -> None:
    """Flip random members; after each revocation's 200, ask as that member at once
    (`probes`: seconds from the 200 to that answer, which must be a denial)."""
    from bench import stripe_http

    timeline, tally = pages.timeline, pages.tally
    conn = http.client.HTTPConnection("127.0.0.1", pages.port, timeout=30)
    while time.monotonic() < stop - 1:
        member, cookie, sub_id = random.choice(made)
        granted = fake.get(sub_id)["status"] != "active"
        flip = timeline.begin(member, granted=granted, now=time.monotonic())
        fake.update(sub_id, status="active" if granted else "canceled")
        body, headers = stripe_http.signed(fake, "customer.subscription.updated", fake.get(sub_id))
        status, _ = stripe_http.post(conn, path, body, headers)
        answered = time.monotonic()
        timeline.answered(flip, now=answered)
        tally["webhooks"] += 1
        if status != 200:
            tally["webhook_errors"] += 1
        elif not granted:
            status, received = pages.ask(member, cookie)
            probes.append(received - answered)
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--stripe-port", type=int, default=STRIPE_PORT)
    args = parser.parse_args()
    os.environ.update(bench_env(stripe_port=args.stripe_port))
    os.chdir(ROOT)
    say(
        f"Soak: {args.members} members, {args.clients} clients, {args.seconds} s "
        f"on 127.0.0.1:{args.port}"
    )
    prepare_database()
    fake, made, path = members(args.members, port=args.port)
    from bench import stripe_http

    server = stripe_http.serve(fake, port=args.stripe_port)
    timeline, lock = Timeline(), threading.Lock()
    tally: defaultdict[str, int] = defaultdict(int, errors=0, stale_grants=0, webhook_errors=0)
    cookies = [(uid, cookie) for uid, cookie, _ in made]
    probes: list[float] = []
    with gunicorn(args.port, "bench.settings", "gthread", threads=4, workers=2, pin=False):
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=hammer, args=(stop, cookies, Pages(args.port, timeline, tally, lock))
            )
            for _ in range(args.clients)
        ]
        prober = Pages(args.port, timeline, tally, lock)
        threads.append(threading.Thread(target=flip, args=(stop, fake, made, path, prober, probes)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    server.shutdown()
    report = {"seconds": args.seconds, "members": args.members, "clients": args.clients, **tally}
    report["requests_per_second"] = round(report["requests"] / args.seconds)
    latencies, unobserved = timeline.revocation_latencies()
    # Any client's first denial after the 200 (waits for the member to be asked again),
    # and the driver's own request sent right after the 200 (one page's round trip).
    report["revocation_latency"] = {**summary_ms(latencies), "unobserved": unobserved}
    report["revocation_probe"] = summary_ms(probes)
    # How often one member is asked: a revocation cannot be seen sooner, on average.
    report["member_request_interval_ms"] = round(
        1000 * args.members / max(1, report["requests_per_second"]), 2
    )
    say(json.dumps(report, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(report, indent=1))
    ok = (
        not report.get("errors")
        and not report.get("stale_grants")
        and not report.get("webhook_errors")
    )
    say("PASS: no errors, no stale grants" if ok else "FAIL: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make soak`: signed-in members hammer a gated page while their subscriptions flip.

A bounded run on 127.0.0.1 (default 60 s). gunicorn serves the production settings;
Stripe is the tests' fake API served over HTTP on loopback, so dj-stripe's re-fetch on
every webhook goes through stripe-python for real. A driver flips random members
between active and canceled through signed webhooks. Every page answer is checked
against that timeline: a request sent after a revoking webhook returned 200, whose
answer came back before the next grant began, must be denied. Reports requests served, errors and
stale grants (both must be 0) to stdout and bench/results/soak.json.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import ENV, RESULTS, SESSION_COOKIE, gunicorn, say  # noqa: E402

PORT, STRIPE_PORT = 8103, 12111


@dataclass
class Flip:
    started: float  # before the fake API changed: from here a grant may already show
    granted: bool
    answered: float | None = None  # when the webhook's 200 came back


@dataclass
class Timeline:
    """Per member, every flip in order; a flip is recorded before it begins."""

    flips: dict[int, list[Flip]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def must_deny(self, member: int, sent: float, received: float) -> bool:
        """True if the request was sent after a revocation had been answered, and its
        answer came back before any later grant began (so no grant can explain a 200)."""
        state = None
        with self.lock:
            flips = list(self.flips[member])
        for flip in flips:
            if flip.granted and flip.started <= received:
                state = "granted-or-pending"
            elif not flip.granted and flip.answered is not None and flip.answered <= sent:
                state = "revoked"
        return state == "revoked"


def serve_fake_stripe(fake) -> ThreadingHTTPServer:  # type: ignore[no-untyped-def]
    from tests.billing.fake_stripe import serve_over_http

    return serve_over_http(fake, host="127.0.0.1", port=STRIPE_PORT, lock=threading.Lock())


def members(count: int):  # type: ignore[no-untyped-def]
    """Create `count` paying members; returns (fake, [(user_id, cookie, sub_id)], endpoint path)."""
    import django

    django.setup()
    from django.urls import reverse

    from apps.billing import services
    from bench.fixtures import install_fake_stripe, member, pro_price

    fake = install_fake_stripe()
    price_id = pro_price(fake)
    endpoint, _ = services.webhook_endpoint_ensure(base_url=f"http://127.0.0.1:{PORT}")
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    result = []
    for index in range(count):
        user, cookie, sub_id = member(fake, email=f"soak-{index}@example.com", price_id=price_id)
        result.append((user.pk, cookie, sub_id))
    return fake, result, path


def hammer(
    stop: float,
    cookies: list[tuple[int, str]],
    timeline: Timeline,
    tally: dict,
    lock: threading.Lock,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    while time.monotonic() < stop:
        member, cookie = random.choice(cookies)
        sent = time.monotonic()
        try:
            conn.request("GET", "/bench/gated", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
            response = conn.getresponse()
            response.read()
            status, request_id = response.status, response.getheader("X-Request-ID")
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            status = -1
        received = time.monotonic()
        with lock:
            tally["requests"] += 1
            if status == 200:
                tally["granted"] += 1
                if timeline.must_deny(member, sent, received):
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
            elif status == 302:
                tally["denied"] += 1
            else:
                tally["errors"] += 1


def flip(
    stop: float, fake, subs: list[tuple[int, str]], path: str, timeline: Timeline, tally: dict
) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from tests.billing import stripe_builders as build

    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    while time.monotonic() < stop - 1:
        member, sub_id = random.choice(subs)
        granted = fake.get(sub_id)["status"] != "active"
        flip = Flip(started=time.monotonic(), granted=granted)
        with timeline.lock:
            timeline.flips[member].append(flip)
        fake.update(sub_id, status="active" if granted else "canceled")
        event = build.event(fake, "customer.subscription.updated", fake.get(sub_id))
        body = json.dumps(event)
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET),
        }
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        with timeline.lock:
            flip.answered = time.monotonic()
        tally["webhooks"] += 1
        if response.status != 200:
            tally["webhook_errors"] += 1
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    os.environ.update(ENV, BENCH_STRIPE_API_HOST=f"http://127.0.0.1:{STRIPE_PORT}")
    os.chdir(ROOT)
    say(
        f"Soak: {args.members} members, {args.clients} clients, {args.seconds} s on 127.0.0.1:{PORT}"
    )
    import subprocess

    subprocess.run([sys.executable, "scripts/createdb.py"], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True)
    fake, made, path = members(args.members)
    server = serve_fake_stripe(fake)
    timeline, lock = Timeline(), threading.Lock()
    tally: defaultdict[str, int] = defaultdict(int, errors=0, stale_grants=0, webhook_errors=0)
    cookies = [(uid, cookie) for uid, cookie, _ in made]
    subs = [(uid, sub) for uid, _, sub in made]
    with gunicorn(PORT, "bench.settings", "gthread", threads=4, workers=2, pin=False):
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=hammer, args=(stop, cookies, timeline, tally, lock))
            for _ in range(args.clients)
        ]
        threads.append(
            threading.Thread(target=flip, args=(stop, fake, subs, path, timeline, tally))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    server.shutdown()
    report = {"seconds": args.seconds, "members": args.members, "clients": args.clients, **tally}
    report["requests_per_second"] = round(report["requests"] / args.seconds)
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

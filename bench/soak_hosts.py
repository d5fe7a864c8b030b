"""`bench/soak_hosts.py --seconds 60`: the soak across three app hosts (tests/multihost/harness.py).

Host A takes every webhook; members are read on hosts B and C only, each in its own
network namespace (root is needed; without it the three hosts run on loopback and the
report says so) and each behind its own delaying link from Redis (`--delay-ms`,
`--jitter-ms`). The hosts run bench.settings, one gunicorn gthread worker each. Every
answer is judged per reading host against the flips: with the near cache on, a grant up
to the published bound (REDIS_NEAR_CACHE_LIVENESS, 100 ms) after the revoking
webhook's 200 is within the bound (counted apart) and a later one is a stale grant;
with `--near-cache off` every grant after the 200 is stale. Reports per reading host
the stale grants (must be 0), the revocation latency (the webhook's 200 to that host's
first denial) and the probe (the driver asks as the member on each host at once after
the 200), to stdout and bench/results/soak_hosts.json.
"""

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import RESULTS, say  # noqa: E402
from bench.soak import Pages, bench_env, hammer, members, prepare_database  # noqa: E402
from bench.timeline import Timeline, summary_ms  # noqa: E402
from tests.multihost import harness  # noqa: E402


@dataclass(frozen=True)
class Site:
    """What the soak asks of the hosts: the gated page, the session cookie's name, the
    webhook endpoint's path, and the lock the fake Stripe API is served under."""

    page: str
    cookie_name: str
    webhook_path: str
    lock: threading.Lock


class Reading:
    """One reading host: its timeline of flips, its tally, its clients."""

    def __init__(self, name: str, host: harness.Host, *, allowance: float, site: Site) -> None:
        address, _, port = host.base_url.removeprefix("http://").rpartition(":")
        self.name, self.address, self.port, self.site = name, address, int(port), site
        self.timeline, self.lock, self.allowance = Timeline(), threading.Lock(), allowance
        self.tally: defaultdict[str, Any] = defaultdict(
            int, errors=0, stale_grants=0, granted_within_bound=0
        )
        self.probes: list[float] = []

    def pages(self) -> Pages:
        return Pages(
            self.port,
            self.timeline,
            self.tally,
            self.lock,
            address=self.address,
            allowance=self.allowance,
            path=self.site.page,
            cookie_name=self.site.cookie_name,
        )

    def report(self, seconds: float) -> dict[str, Any]:
        latencies, unobserved = self.timeline.revocation_latencies()
        return {
            **self.tally,
            "requests_per_second": round(self.tally["requests"] / seconds),
            "revocation_latency": {**summary_ms(latencies), "unobserved": unobserved},
            "revocation_probe": summary_ms(self.probes),
        }


def flip(
    stop: float,
    fake: Any,
    made: list[tuple[int, str, str]],
    site: Site,
    host_a: harness.Host,
    readings: list[Reading],
    tally: dict[str, int],
) -> None:
    """Flip random members through webhooks on host A; after each revocation's 200, ask
    as that member on every reading host at once."""
    from bench import stripe_http

    conn = http.client.HTTPConnection(host_a.base_url.removeprefix("http://"), timeout=30)
    probers = [(reading, reading.pages()) for reading in readings]
    while time.monotonic() < stop - 1:
        member, cookie, sub_id = random.choice(made)
        with site.lock:
            granted = fake.get(sub_id)["status"] != "active"
        now = time.monotonic()
        flips = [r.timeline.begin(member, granted=granted, now=now) for r in readings]
        with site.lock:
            fake.update(sub_id, status="active" if granted else "canceled")
            body, headers = stripe_http.signed(
                fake, "customer.subscription.updated", fake.get(sub_id)
            )
        status, _ = stripe_http.post(conn, site.webhook_path, body, headers)
        answered = time.monotonic()
        for reading, flipped in zip(readings, flips, strict=True):
            reading.timeline.answered(flipped, now=answered)
        tally["webhooks"] += 1
        if status != 200:
            tally["webhook_errors"] += 1
        elif not granted:
            for reading, pages in probers:
                _, received = pages.ask(member, cookie)
                reading.probes.append(received - answered)
        time.sleep(0.2)


def run(
    hosts: harness.Cluster,
    fake: Any,
    made: list[tuple[int, str, str]],
    site: Site,
    *,
    seconds: float,
    clients: int,
) -> dict[str, Any]:
    """Soak running hosts for `seconds`: `clients` threads per reading host ask as random
    members of `made` while webhooks on A flip them. The report, per reading host."""
    from django.conf import settings

    # The bound README publishes; the hosts run the same settings as this process.
    near_cache = hosts.env.get("REDIS_NEAR_CACHE", "on") == "on"
    allowance = settings.REDIS_NEAR_CACHE_LIVENESS if near_cache else 0.0
    readings = [
        Reading(name, host, allowance=allowance, site=site) for name, host in hosts.readers.items()
    ]
    tally: defaultdict[str, int] = defaultdict(int, webhooks=0, webhook_errors=0)
    cookies = [(uid, cookie) for uid, cookie, _ in made]
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=hammer, args=(stop, cookies, reading.pages()))
        for reading in readings
        for _ in range(clients)
    ]
    threads.append(
        threading.Thread(target=flip, args=(stop, fake, made, site, hosts.a, readings, tally))
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": seconds,
        "members": len(made),
        "clients_per_host": clients,
        "near_cache": hosts.env.get("REDIS_NEAR_CACHE", "on"),
        "isolated_network": hosts.network.isolated,
        **tally,
        "hosts": {reading.name: reading.report(seconds) for reading in readings},
    }


def passed(report: dict[str, Any]) -> bool:
    return not report["webhook_errors"] and all(
        not host["errors"] and not host["stale_grants"] for host in report["hosts"].values()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8, help="per reading host")
    parser.add_argument("--stripe-port", type=int, default=12111)
    parser.add_argument("--near-cache", choices=("on", "off"), default="on")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="Redis → B and C")
    parser.add_argument("--jitter-ms", type=float, default=10.0, help="Redis → B and C")
    args = parser.parse_args()
    env = bench_env(stripe_port=args.stripe_port)
    os.environ.update(env)
    say(
        f"Soak across 3 hosts: {args.members} members, {args.clients} clients on each of "
        f"B and C, {args.seconds} s, near cache {args.near_cache}, Redis → B/C "
        f"{args.delay_ms} ms + up to {args.jitter_ms} ms jitter"
    )
    prepare_database()
    fake, made, path = members(args.members, port=8000)
    from django.conf import settings

    from tests.billing.fake_stripe import serve_over_http

    site = Site("/bench/gated", settings.SESSION_COOKIE_NAME, path, threading.Lock())
    with harness.network() as net, tempfile.TemporaryDirectory() as logs:
        stripe_port = harness.free_port(net.a.gateway)
        server = serve_over_http(fake, host=net.a.gateway, port=stripe_port, lock=site.lock)
        try:
            with harness.cluster(
                net,
                redis_url=env["REDIS_URL"],
                database_url=env["DATABASE_URL"],
                stripe_port=stripe_port,
                env={"REDIS_NEAR_CACHE": args.near_cache},
                logs=Path(logs),
                settings_module="bench.settings",
                redis_variable="REDIS_URL",
                stripe_variable="BENCH_STRIPE_API_HOST",
                threads=4,
            ) as hosts:
                for link in hosts.links.values():
                    link.delay(args.delay_ms / 1000)
                    link.jitter(args.jitter_ms / 1000)
                report = run(hosts, fake, made, site, seconds=args.seconds, clients=args.clients)
        finally:
            server.shutdown()
            server.server_close()
    report.update(link_delay_ms=args.delay_ms, link_jitter_ms=args.jitter_ms)
    say(json.dumps(report, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak_hosts.json").write_text(json.dumps(report, indent=1))
    ok = passed(report)
    say("PASS: no errors, no stale grants on B or C" if ok else "FAIL: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

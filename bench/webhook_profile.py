"""What bounds webhook throughput: a cProfile of the webhook endpoint, in-process.

The same events as bench/webhooks.py (signed, from tests/billing/fixtures), posted
through Django's test client to the real endpoint with the production settings; the
fake Stripe API is served over HTTP in a thread, so the re-fetch runs stripe-python and
requests for real (the fake's own work is in that thread, which is not profiled: its
answer shows here as time waiting on the socket). Every function's own time is put in
one group by where its code lives (a C function's, by who called it):

dj-stripe | Stripe re-fetch (stripe-python, requests, http) | Postgres (psycopg) |
Redis | ours (apps/) | Django | other (stdlib: json, logging, hmac, ...)

Prints µs per event and each group's share; writes bench/results/webhook_profile.json.
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Where a function's code lives -> its group; the first match wins.
GROUPS = (
    ("/djstripe/", "dj-stripe"),
    ("/stripe/", "Stripe re-fetch"),
    ("/requests/", "Stripe re-fetch"),
    ("/urllib3/", "Stripe re-fetch"),
    ("/http/client.py", "Stripe re-fetch"),
    ("/psycopg", "Postgres"),
    ("/redis/", "Redis"),
    ("/django_redis/", "Redis"),
    ("/django/", "Django"),
    ("/site-packages/", "other"),
    (f"{ROOT}/apps/", "ours"),
    (f"{ROOT}/config/", "ours"),
)
PORT, STRIPE_PORT = 8105, 12113


def group_of(filename: str) -> str | None:
    """The group of code in `filename`; None for C functions (pstats names them '~')."""
    if filename == "~" or filename.startswith("<"):
        return None
    for fragment, group in GROUPS:
        if fragment in filename:
            return group
    return "other"


def grouped(stats: dict) -> dict[str, float]:  # type: ignore[type-arg]
    """Seconds of own time per group, from pstats' raw table: {func: (cc, nc, tt, ct,
    callers)}, func = (filename, line, name). A C function's time goes to its callers'
    groups, in proportion to the time each caller spent in it."""
    totals: defaultdict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, callers) in stats.items():
        group = group_of(filename)
        if group is not None:
            totals[group] += own
            continue
        shares = {caller: timing[2] for caller, timing in callers.items()}
        whole = sum(shares.values())
        if not whole:
            totals["other"] += own
            continue
        for caller, share in shares.items():
            totals[group_of(caller[0]) or "other"] += own * share / whole
    return dict(totals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--stripe-port", type=int, default=STRIPE_PORT)
    args = parser.parse_args()
    from bench.soak import bench_env, members, prepare_database

    os.environ.update(bench_env(stripe_port=args.stripe_port))
    os.chdir(ROOT)
    prepare_database()
    fake, made, path = members(args.members, port=PORT)
    import stripe
    from django.db import connection
    from django.test import Client

    from bench import stripe_http
    from bench.run import RESULTS, say
    from bench.webhooks import Driver

    server = stripe_http.serve(fake, port=args.stripe_port)
    # From here stripe-python reaches the fake over HTTP, as the gunicorn worker does.
    stripe.default_http_client = stripe.RequestsClient()
    client = Client(HTTP_HOST="127.0.0.1")
    driver = Driver(fake, [sub for _, _, sub in made], path, PORT)
    for _ in range(30):  # warm: connections, caches, imports
        post(client, path, *driver.event()[1:])
    profile, elapsed, queries, calls_before = cProfile.Profile(), 0.0, [], len(fake.calls)
    for _ in range(args.events):
        _, body, headers = driver.event()  # built just before, as the fake's state moves
        started = time.perf_counter()
        with connection.execute_wrapper(lambda run, *a: queries.append(1) or run(*a)):
            profile.enable()
            post(client, path, body, headers)
            profile.disable()
        elapsed += time.perf_counter() - started
    server.shutdown()
    totals = grouped(pstats.Stats(profile).stats)  # type: ignore[attr-defined]
    profiled = sum(totals.values())
    per_event = {group: round(seconds / args.events * 1e6) for group, seconds in totals.items()}
    report = {
        "events": args.events,
        "wall_us_per_event": round(elapsed / args.events * 1e6),
        "profiled_us_per_event": round(profiled / args.events * 1e6),
        "sql_queries_per_event": round(len(queries) / args.events, 1),
        "stripe_requests_per_event": round((len(fake.calls) - calls_before) / args.events, 2),
        "groups_us_per_event": dict(sorted(per_event.items(), key=lambda kv: -kv[1])),
        "groups_share": {
            group: round(seconds / profiled, 3)
            for group, seconds in sorted(totals.items(), key=lambda kv: -kv[1])
        },
    }
    say(json.dumps(report, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhook_profile.json").write_text(json.dumps(report, indent=1))
    pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    return 0


def post(client, path: str, body: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": headers["Stripe-Signature"]},
    )
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.content[:200]!r}")


if __name__ == "__main__":
    sys.exit(main())

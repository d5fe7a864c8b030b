"""Where a gated request's time goes, by stage, with many members (in-process).

Runs the production settings' whole WSGI stack (every middleware, the gated view) in
one thread, as a sync gunicorn worker does, rotating through N members' cookies:

1. a plain timed loop gives the microseconds per request;
2. a cProfile run of the same loop gives each stage's share of it (cumulative time of
   the function that is the stage), which is scaled to the plain figure so the
   profiler's own overhead does not inflate the answer.

    .venv/bin/python bench/stages.py --members 10000 --requests 40000

Stages: the session (load and decode, incl. the MGET on a near-cache miss), identity
(`request.user`), Access, "last seen" bookkeeping, the view itself, and the rest of the
stack (Django's handler and every other middleware).
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.run import ENV, say  # noqa: E402
from bench.variants import SESSION_COOKIE  # noqa: E402

# (stage, module file suffix, function name): cumulative time of that function.
STAGES = [
    ("session", "accounts/session_store.py", "load"),
    ("identity", "accounts/identity.py", "get_user"),
    ("access", "billing/access/resolver.py", "access_for_request"),
    ("last seen", "accounts/last_seen.py", "record"),
    ("last seen (before)", "accounts/middleware.py", "_touch"),  # its earlier home
    ("session save", "contrib/sessions/middleware.py", "process_response"),
    ("signals", "django/dispatch/dispatcher.py", "send"),  # request_started/finished
    ("view", "bench/views.py", "gated"),
]


def environ(cookie: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/bench/gated",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8101",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"{SESSION_COOKIE}={cookie}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=40000)
    parser.add_argument("--top", action="store_true", help="also print the 25 costliest functions")
    parser.add_argument("--dump", help="write the cProfile stats to this file (for pstats)")
    args = parser.parse_args()
    os.environ.update(ENV)
    os.chdir(ROOT)
    from bench.population import prepare

    people = prepare(args.members)
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    cookies = [person["session"] for person in people]

    def loop(count: int) -> None:
        statuses: list[str] = []

        def start_response(status: str, headers: object) -> None:
            statuses.append(status)

        for n in range(count):
            response = handler(environ(cookies[n % len(cookies)]), start_response)
            b"".join(response)
            response.close()  # as a WSGI server does: request_finished runs here
            if not statuses.pop().startswith("200"):
                raise RuntimeError("the gated page did not answer 200")

    loop(3 * len(cookies))  # warm: Access in Redis, then every key in the near cache
    started = time.perf_counter()
    loop(args.requests)
    per_request = (time.perf_counter() - started) / args.requests * 1e6

    profile = cProfile.Profile()
    profile.runcall(loop, args.requests)
    stats = pstats.Stats(profile)
    if args.dump:
        stats.dump_stats(args.dump)
    total = sum(
        row[3]
        for key, row in stats.stats.items()
        if key[2] == "__call__" and key[0].endswith("handlers/wsgi.py")
    )  # type: ignore[attr-defined]
    say(f"\n{args.members:,} members, {args.requests:,} requests: {per_request:.0f} µs per request")
    say(f"  {'stage':18} {'µs':>6} {'share':>6}")
    accounted = 0.0
    for stage, suffix, function in STAGES:
        cumulative = sum(
            row[3]
            for key, row in stats.stats.items()  # type: ignore[attr-defined]
            if key[0].endswith(suffix) and key[2] == function
        )
        accounted += cumulative
        say(f"  {stage:18} {cumulative / total * per_request:6.1f} {cumulative / total:6.1%}")
    rest = 1 - accounted / total
    say(f"  {'rest of the stack':18} {rest * per_request:6.1f} {rest:6.1%}")
    if args.top:
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())

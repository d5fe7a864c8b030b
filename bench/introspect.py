"""Introspection req/s: `POST /oauth/introspect` next to `GET /api/session` and a bare page.

gunicorn (one sync worker, pinned to CPU 1, production settings) and wrk (CPU 0) as in
bench/run.py, on a database and Redis db of its own. A paying member is signed in and a
service registered; wrk asks about the member's session id as that service, with HTTP
Basic (bench/introspect.lua), while `/api/session` is the member's own cookie asking.
Short on purpose: a few interleaved 5 s rounds.

    .venv/bin/python bench/introspect.py --rounds 3 --seconds 5
"""

import argparse
import base64
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.run import CLIENT_CPU, ENV, PYTHON, gunicorn, parse_wrk, say  # noqa: E402
from bench.variants import SESSION_COOKIE  # noqa: E402

PORT = int(os.environ.get("BENCH_INTROSPECT_PORT", "8400"))
OWN = {
    "DATABASE_URL": os.environ.get(
        "BENCH_INTROSPECT_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/tollgate_bench_introspect",
    ),
    "REDIS_URL": os.environ.get("BENCH_INTROSPECT_REDIS_URL", "redis://127.0.0.1:6379/2"),
    "REDIS_KEY_PREFIX": "tollgate-bench-introspect",
}


def prepare() -> dict[str, str]:
    """Migrate, sign in a paying member, register a service; the values wrk sends."""
    subprocess.run([PYTHON, "scripts/createdb.py"], cwd=ROOT, check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from apps.services import services
    from apps.services.models import Service
    from bench import fixtures

    member = fixtures.paying_member()
    Service.objects.filter(name="bench").delete()
    issued = services.service_create(name="bench")
    pair = f"{issued.service.client_id}:{issued.secret}".encode()
    return {
        "session": member["session"],
        "auth": "Basic " + base64.b64encode(pair).decode(),
        "client_id": issued.service.client_id,
        "secret": issued.secret,
    }


def micro(values: dict[str, str], *, count: int = 5000) -> dict[str, float]:
    """µs of CPU for introspection's own two steps, near-cached (best of 3)."""
    from apps.services import credentials, token_kinds

    steps = {
        "credential check": lambda: credentials.authenticate(values["client_id"], values["secret"]),
        "session kind": lambda: token_kinds.introspect(values["session"], hint="session_id"),
    }
    best = {}
    for name, step in steps.items():
        for _ in range(300):
            step()
        laps = []
        for _ in range(3):
            started = time.process_time()
            for _ in range(count):
                step()
            laps.append((time.process_time() - started) / count * 1e6)
        best[name] = min(laps)
    return best


def wrk(
    url: str, options: list[str], script_args: list[str], *, seconds: int, connections: int
) -> tuple[float, float, float, int]:
    cmd = [*CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *options]
    tail = ["--", *script_args] if script_args else []
    out = subprocess.run([*cmd, url, *tail], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def variants(values: dict[str, str]) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (wrk options, the Lua script's arguments)."""
    return {
        "bare": ([], []),
        "api_session": (["-H", f"Cookie: {SESSION_COOKIE}={values['session']}"], []),
        "introspect": (["-s", "bench/introspect.lua"], [values["session"], values["auth"]]),
    }


def check(values: dict[str, str]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/oauth/introspect",
        data=f"token={values['session']}".encode(),
        headers={"Authorization": values["auth"]},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        if b'"active": true' not in response.read():
            raise RuntimeError("introspection did not say active")


def cpu_per_request(values: dict[str, str], *, rounds: int, count: int) -> dict[str, list[float]]:
    """µs of this process's CPU per request through the whole WSGI stack (Django's test
    client, in-process, warm): what a worker spends, whatever else the machine runs."""
    from django.conf import settings
    from django.test import Client

    member = Client(HTTP_HOST="127.0.0.1")
    member.cookies[settings.SESSION_COOKIE_NAME] = values["session"]
    service = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=values["auth"])
    body = f"token={values['session']}&token_type_hint=session_id"
    form = "application/x-www-form-urlencoded"
    calls = {
        "bare": lambda: member.get("/bench/bare"),
        "api_session": lambda: member.get("/api/session"),
        "introspect": lambda: service.post("/oauth/introspect", body, content_type=form),
    }
    spent: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():  # interleaved, as the wrk rounds
            for _ in range(200):
                call()  # warm: this thread's near cache holds the member and the service
            started = time.process_time()
            for _ in range(count):
                call()
            spent[name].append((time.process_time() - started) / count * 1e6)
    return spent


PATHS = {"bare": "/bench/bare", "api_session": "/api/session", "introspect": "/oauth/introspect"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    os.environ.update({**ENV, **OWN})
    os.chdir(ROOT)
    say("Preparing the database, a paying member and a service ...")
    values = prepare()
    for name, spent_us in micro(values).items():
        say(f"  {name:18} {spent_us:6.1f} µs")
    say("CPU per request, in-process (µs, median of rounds):")
    for name, spent in cpu_per_request(values, rounds=args.rounds, count=2000).items():
        say(
            f"  {name:12} {statistics.median(spent):6.0f} µs  (rounds: "
            f"{', '.join(f'{v:.0f}' for v in spent)})"
        )
    results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in PATHS}
    with gunicorn(PORT, "bench.settings", "sync"):
        check(values)
        for number in range(1, args.rounds + 1):
            for name, (options, script_args) in variants(values).items():
                url = f"http://127.0.0.1:{PORT}{PATHS[name]}"
                rps, p50, p99, errors = wrk(
                    url, options, script_args, seconds=args.seconds, connections=args.connections
                )
                results[name].append((rps, p50, p99, errors))
                say(
                    f"  round {number} {name:12} {rps:8.0f} req/s  p50 {p50:6.2f} ms  "
                    f"p99 {p99:6.2f} ms  errors {errors}"
                )
    say("\n| variant | req/s | p50 ms | p99 ms | x bare | x /api/session | errors |")
    say("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        ratio = statistics.median(r[0] / b[0] for r, b in zip(runs, results["bare"], strict=True))
        to_api = statistics.median(
            r[0] / a[0] for r, a in zip(runs, results["api_session"], strict=True)
        )
        say(
            f"| {name} | {statistics.median(r[0] for r in runs):.0f} "
            f"| {statistics.median(r[1] for r in runs):.2f} "
            f"| {statistics.median(r[2] for r in runs):.2f} | {ratio:.2f} | {to_api:.2f} "
            f"| {sum(int(r[3]) for r in runs)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

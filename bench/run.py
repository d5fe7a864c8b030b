"""`make bench`: a gated page against a bare page, stock Django auth and an HS256 JWT.

Starts gunicorn with the production settings on 127.0.0.1 (its own database and
Redis db), signs a paying member in, then runs bounded wrk rounds over the variants,
interleaved. Also counts SQL queries and Redis round trips per request in-process,
compares gunicorn worker classes, and runs the micro-benchmarks (bench/micro.py).
Writes bench/results/latest.json and .csv.
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.variants import (  # noqa: E402
    SESSION_COOKIE,
    STOCK_PORT,
    TOLLGATE_PORT,
    VARIANTS,
    Variant,
)

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tollgate_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/2",
    "REDIS_KEY_PREFIX": "tollgate-bench",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "STRIPE_TEST_SECRET_KEY": "sk_test_tollgateBenchFakeKey00000000000",
    "STRIPE_WEBHOOK_SECRET": "whsec_tollgate_bench",
}
_PIN = shutil.which("taskset") and (os.cpu_count() or 1) >= 2
SERVER_CPU = ["taskset", "-c", "1"] if _PIN else []
CLIENT_CPU = ["taskset", "-c", "0"] if _PIN else []


@dataclass
class Run:
    variant: str
    worker: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def say(line: str) -> None:
    print(line, flush=True)


def prepare() -> dict[str, str]:
    """Migrate the bench database, load the demo catalog, sign in a paying member."""
    subprocess.run([PYTHON, "scripts/createdb.py"], cwd=ROOT, check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from bench import fixtures

    return fixtures.paying_member()


@contextmanager
def gunicorn(
    port: int,
    settings: str,
    worker_class: str,
    *,
    threads: int = 1,
    workers: int = 1,
    pin: bool = True,
    env: dict[str, str] | None = None,
):
    env = {
        **os.environ,
        **(env or {}),
        "DJANGO_SETTINGS_MODULE": settings,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_WORKER_CLASS": worker_class,
        "GUNICORN_THREADS": str(threads),
        # Worker recycling (a reboot every few thousand requests) would show up as the
        # p99 of a one-worker run; the benchmark measures the steady state.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    # The server gets one core to itself and wrk the other, so the figures measure the
    # server's CPU per request rather than how the two fight over cores.
    cpu = SERVER_CPU if pin else []
    cmd = [*cpu, PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn did not start on port {port}")
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def cookie_header(variant: Variant, cookies: dict[str, str]) -> str:
    if variant.cookie == "session":
        return f"{SESSION_COOKIE}={cookies['session']}"
    if variant.cookie == "jwt":
        return f"jwt={cookies['jwt']}"
    return ""


def check_200(variant: Variant, cookies: dict[str, str]) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{variant.port}{variant.path}")
    if header := cookie_header(variant, cookies):
        request.add_header("Cookie", header)
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200 or response.url.rstrip("/") != request.full_url.rstrip("/"):
            raise RuntimeError(f"{variant.name}: expected 200 from {variant.path}")


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    variant: Variant, cookies: dict[str, str], *, seconds: int, connections: int
) -> tuple[float, float, float, int]:
    cmd = [
        *CLIENT_CPU,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if header := cookie_header(variant, cookies):
        cmd += ["-H", f"Cookie: {header}"]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{variant.port}{variant.path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> tuple[float, float, float, int]:
    """wrk's report -> (req/s, p50 ms, p99 ms, errors: non-2xx/3xx plus socket errors)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {m[0]: float(m[1]) * _UNITS[m[2]] for m in _LATENCY.findall(out)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(map(int, sockets.groups())) if sockets else 0
    )
    return rps, latency["50"], latency["99"], errors


def rounds(
    variants: list[Variant],
    cookies: dict[str, str],
    *,
    worker: str,
    count: int,
    seconds: int,
    connections: int,
) -> list[Run]:
    runs = []
    for number in range(1, count + 1):
        for variant in variants:  # interleaved, so drift hits every variant alike
            rps, p50, p99, errors = wrk(variant, cookies, seconds=seconds, connections=connections)
            runs.append(Run(variant.name, worker, number, rps, p50, p99, errors))
            say(
                f"  round {number} {worker:7} {variant.name:20} {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  errors {errors}"
            )
    return runs


def median(runs: list[Run], variant: str, worker: str, field: str) -> float:
    return statistics.median(
        getattr(r, field) for r in runs if r.variant == variant and r.worker == worker
    )


def median_ratio(runs: list[Run], variant: str, reference: str, worker: str) -> float:
    """Median over rounds of variant/reference req/s within the same round: a round's
    variants run back to back, so drift in the machine's speed cancels out."""
    rps = {(r.variant, r.round): r.rps for r in runs if r.worker == worker}
    rounds = sorted({number for _, number in rps})
    return statistics.median(rps[variant, n] / rps[reference, n] for n in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    os.environ.update(ENV)
    os.chdir(ROOT)

    say("Preparing the bench database, demo catalog and a paying member ...")
    cookies = prepare()
    from bench import counts, micro

    say("Counting SQL queries and Redis round trips per request (in-process) ...")
    per_request = counts.per_request(cookies)
    for name, row in per_request.items():
        say(
            f"  {name:20} SQL {row['sql']}  Redis round trips {row['redis']}  ({' '.join(row['commands'])})"
        )

    runs: list[Run] = []
    for worker, threads in (("sync", 1), ("gthread", 4)):
        say(
            f"wrk: {args.rounds} rounds x {args.seconds}s, {args.connections} connections, gunicorn {worker} (1 worker, pinned)"
        )
        with (
            gunicorn(TOLLGATE_PORT, "bench.settings", worker, threads=threads),
            gunicorn(STOCK_PORT, "bench.settings_stock", worker, threads=threads),
        ):
            for variant in VARIANTS:
                check_200(variant, cookies)
            runs += rounds(
                VARIANTS,
                cookies,
                worker=worker,
                count=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
            )

    say("Micro-benchmarks (in-process) ...")
    micro_results = micro.run()
    for name, value in micro_results.items():
        say(f"  {name:40} {value}")

    summary = summarise(runs)
    write(runs, per_request, micro_results, summary)
    return 0


def summarise(runs: list[Run]) -> dict[str, dict[str, float]]:
    summary: dict[str, dict[str, float]] = {}
    for worker in ("sync", "gthread"):
        bare_p99 = median(runs, "bare", worker, "p99_ms")
        say(f"\nMedians, gunicorn {worker}:")
        say(f"  {'variant':20} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x bare':>7} {'x jwt':>6}")
        for variant in VARIANTS:
            rps = median(runs, variant.name, worker, "rps")
            row = {
                "rps": rps,
                "p50_ms": median(runs, variant.name, worker, "p50_ms"),
                "p99_ms": median(runs, variant.name, worker, "p99_ms"),
                "ratio_to_bare": median_ratio(runs, variant.name, "bare", worker),
                "ratio_to_jwt": median_ratio(runs, variant.name, "jwt", worker),
                "p99_ratio_to_bare": median(runs, variant.name, worker, "p99_ms") / bare_p99,
            }
            summary[f"{worker}/{variant.name}"] = row
            say(
                f"  {variant.name:20} {rps:8.0f} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} {row['ratio_to_bare']:7.2f} {row['ratio_to_jwt']:6.2f}"
            )
    return summary


def write(runs: list[Run], per_request: dict, micro_results: dict, summary: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "per_request": per_request,
                "micro": micro_results,
                "summary": summary,
                "runs": [asdict(r) for r in runs],
            },
            indent=1,
        )
    )
    with (RESULTS / "latest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(runs[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in runs)
    say(f"\nWrote {RESULTS / 'latest.json'} and latest.csv")


if __name__ == "__main__":
    sys.exit(main())

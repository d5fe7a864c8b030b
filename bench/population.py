"""`make bench-population`: the gated page with thousands of members, side by side.

For each population (default 1, 2,000 and 10,000 paying members) and worker count (1
sync worker pinned to CPU 1 with wrk on CPU 0; 2 and 4 unpinned), wrk rotates through
every member's own cookie (bench/rotate.lua), so consecutive requests come from different
members; the JWT reference rotates per-member tokens the same way. The variants run
interleaved, round after round:

  bare       no cookie: the ceiling
  jwt        an HS256 JWT per member, verified locally (no I/O, no revocation)
  gated      Tollgate's gate, near cache on (the default)
  gated_off  the same with REDIS_NEAR_CACHE=off: one MGET per request

A ratio is the median over rounds of a variant's req/s over the reference's in the same
round. The spread is (max - min) / median of a variant's rounds. Members are built once
(bench/members.py) and each population is a prefix of them.
Writes bench/results/population.json.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.run import (  # noqa: E402
    CLIENT_CPU,
    ENV,
    PYTHON,
    RESULTS,
    TOLLGATE_PORT,
    gunicorn,
    parse_wrk,
    say,
)
from bench.variants import SESSION_COOKIE  # noqa: E402

NEAR_OFF_PORT = TOLLGATE_PORT + 10
PATHS = {
    "bare": (TOLLGATE_PORT, "/bench/bare", ""),
    "jwt": (TOLLGATE_PORT, "/bench/jwt", "jwt"),
    "gated": (TOLLGATE_PORT, "/bench/gated", "session"),
    "gated_off": (NEAR_OFF_PORT, "/bench/gated", "session"),
}


@dataclass
class Warmup:
    """A warm-up pass: pass 1 is each member's first sight (Access computed and cached)."""

    members: int
    workers: int
    variant: str
    number: int
    rps: float


@dataclass
class Round:
    members: int
    workers: int
    variant: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def cookie_files(people: list[dict[str, str]], folder: Path) -> dict[str, Path]:
    files = {
        "session": folder / "sessions.txt",
        "jwt": folder / "tokens.txt",
    }
    files["session"].write_text("".join(f"{SESSION_COOKIE}={p['session']}\n" for p in people))
    files["jwt"].write_text("".join(f"jwt={p['jwt']}\n" for p in people))
    return files


def wrk(port: int, path: str, cookies: Path | None, *, seconds: int, connections: int, pin: bool):
    cmd = [*(CLIENT_CPU if pin else []), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--latency", "--timeout", "5s"]
    if cookies:
        cmd += ["-s", str(ROOT / "bench" / "rotate.lua")]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if cookies:
        cmd += ["--", str(cookies)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def warm_passes(workers: int) -> int:
    """Passes over every member after which each worker has served each member at least
    once, 95 times in 100. The near cache is per worker, and a sync worker takes whichever
    request comes next, so one pass brings a member to a given worker with chance 1/w: after
    two passes more than half of the members were still cold on each of 4 workers, and
    their requests were measured as one MGET each. A member who keeps using the site is warm on every
    worker (the steady state); one pass computes, the next copies, on one worker."""
    if workers == 1:
        return 2
    return max(2, math.ceil(math.log(0.05) / math.log(1 - 1 / workers)))


def warm_up(port: int, path: str, cookies: Path) -> float:
    """Every member's cookie once, four at a time, however long that takes: req/s.

    Python, not wrk: wrk stops by time, and this pass must reach every member."""
    lines = cookies.read_text().splitlines()
    url = f"http://127.0.0.1:{port}{path}"

    def visit(cookie: str) -> None:
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(visit, lines))
    return len(lines) / (time.perf_counter() - started)


def prepare(count: int) -> list[dict[str, str]]:
    subprocess.run([PYTHON, "scripts/createdb.py"], cwd=ROOT, check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.core.cache import cache

    from bench import members

    cache.clear()  # the bench's own Redis db: no copies from an earlier run
    return members.crowd(count, progress=say)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", default="1,2000,10000")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    populations = [int(n) for n in args.members.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    os.environ.update(ENV)
    os.chdir(ROOT)

    say(f"Building {max(populations):,} paying, signed-in members ...")
    people = prepare(max(populations))
    rounds: list[Round] = []
    warmups: list[Warmup] = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in worker_counts:
            pin = workers == 1
            with (
                gunicorn(TOLLGATE_PORT, "bench.settings", "sync", workers=workers, pin=pin),
                gunicorn(
                    NEAR_OFF_PORT,
                    "bench.settings",
                    "sync",
                    workers=workers,
                    pin=pin,
                    env={"REDIS_NEAR_CACHE": "off"},
                ),
            ):
                for count in populations:
                    files = cookie_files(people[:count], Path(folder))
                    say(f"{count:,} members, {workers} worker(s){' pinned' if pin else ''}:")
                    # Warm-up: every member through the gate, pass after pass, so Redis
                    # holds each member's Access and each worker its copies, and the
                    # rounds measure the steady state. It goes by member, not by time: a
                    # time-based one left most of 2,000 members cold on a pinned worker,
                    # and their first sight (Access computed from Postgres) was then
                    # measured as if it were the gate's steady cost.
                    for name in ("gated", "gated_off"):
                        port, path, kind = PATHS[name]
                        passes = warm_passes(workers) if name == "gated" else 2
                        for number in range(1, passes + 1):
                            rps = warm_up(port, path, files[kind])
                            warmups.append(Warmup(count, workers, name, number, rps))
                            say(f"  warm-up {name:10} pass {number} {rps:8.0f} req/s")
                    for number in range(1, args.rounds + 1):
                        for name, (port, path, kind) in PATHS.items():
                            rps, p50, p99, errors = wrk(
                                port,
                                path,
                                files[kind] if kind else None,
                                seconds=args.seconds,
                                connections=args.connections,
                                pin=pin,
                            )
                            rounds.append(
                                Round(count, workers, name, number, rps, p50, p99, errors)
                            )
                            say(
                                f"  round {number} {name:10} {rps:8.0f} req/s  p50 {p50:6.2f} ms"
                                f"  p99 {p99:6.2f} ms  errors {errors}"
                            )
    summary = summarise(rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "population.json"
    out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "cpus": os.cpu_count(),
                "summary": summary,
                "rounds": [asdict(r) for r in rounds],
                "warmups": [asdict(w) for w in warmups],
            },
            indent=1,
        )
    )
    say(f"\nWrote {out}")
    return 0


def summarise(rounds: list[Round]) -> list[dict[str, float]]:
    rows = []
    say(
        f"\n{'members':>8} {'workers':>7} {'variant':10} {'req/s':>7} {'x bare':>7} "
        f"{'x jwt':>6} {'spread':>7}"
    )
    for members, workers in sorted({(r.members, r.workers) for r in rounds}):
        group = [r for r in rounds if r.members == members and r.workers == workers]
        rps = {(r.variant, r.round): r.rps for r in group}
        numbers = sorted({r.round for r in group})
        for variant in PATHS:
            mine = [rps[variant, n] for n in numbers]
            row = {
                "members": members,
                "workers": workers,
                "variant": variant,
                "rps": statistics.median(mine),
                "ratio_to_bare": statistics.median(
                    rps[variant, n] / rps["bare", n] for n in numbers
                ),
                "ratio_to_jwt": statistics.median(rps[variant, n] / rps["jwt", n] for n in numbers),
                "spread": (max(mine) - min(mine)) / statistics.median(mine),
                "errors": sum(r.errors for r in group if r.variant == variant),
            }
            rows.append(row)
            say(
                f"{members:8,} {workers:7} {variant:10} {row['rps']:7.0f} "
                f"{row['ratio_to_bare']:7.2f} {row['ratio_to_jwt']:6.2f} {row['spread']:7.2f}"
            )
    return rows


if __name__ == "__main__":
    sys.exit(main())

"""The revocation bound across services: a signed Stripe webhook's 200 -> the first
refusal at the example reports service (examples/reports_service), in both modes.

Runs tests/examples' bound test with `--runs` revocations per mode (a live Tollgate, the
events worker and the example as a uvicorn process, on its own database) and prints
p50/p99/max per mode; writes bench/results/second_service.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_bench_second \\
    TEST_REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/second_service.py --runs 50
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "second_service.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SECOND_SERVICE_RUNS": str(runs),
        "SECOND_SERVICE_RESULTS": str(out),
    }
    test = "tests/examples/test_reports_service.py::test_the_revocation_bound_over_runs"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", test, "-p", "no:cacheprovider", "--reuse-db"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    found = json.loads(out.read_text())
    summary = {}
    for mode, bounds in found.items():
        ms = [b * 1000 for b in bounds]
        summary[mode] = {
            "runs": len(ms),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
            "max_ms": round(max(ms), 1),
        }
        print(
            f"{mode:14} n={len(ms):3}  "
            + "  ".join(f"{k}={v}" for k, v in summary[mode].items() if k != "runs")
        )
    out.write_text(
        json.dumps({"bounds_s": found, "summary": summary, "load": os.getloadavg()}, indent=2)
    )


if __name__ == "__main__":
    main()

"""Revocation across app hosts: the tests in tests/multihost, with more revocations.

`.venv/bin/python bench/across_hosts.py --trials 20` runs it (root is needed for the
network namespaces; without them it falls back to loopback processes and says so),
writes bench/results/across_hosts.json and prints the table bench/README.md shows: one
row per near-cache mode, case and reading host (B, C), with that host's link.
Uses the test settings' database and Redis (DATABASE_URL, TEST_REDIS_URL).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "across_hosts.json"
COLUMNS = [
    "link_delay_ms",
    "link_jitter_ms",
    "stall_ms",
    "revocations",
    "revocations_with_stale",
    "stale_grants",
    "window_ms_p50",
    "window_ms_p99",
    "window_ms_max",
    "page_ms_p50",
    "requests",
    "errors",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="revocations per case")
    args = parser.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.unlink(missing_ok=True)
    env = {**os.environ, "MULTIHOST_TRIALS": str(args.trials), "MULTIHOST_RESULTS": str(RESULTS)}
    pytest = [sys.executable, "-m", "pytest", "tests/multihost", "-q", "-p", "no:cacheprovider"]
    code = subprocess.run(pytest, cwd=ROOT, env=env, check=False).returncode
    figures = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    print("| case | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for case, row in figures.items():
        print(f"| {case} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    if figures and not next(iter(figures.values()))["isolated_network"]:
        print("(no network namespaces here: both hosts ran as loopback processes)")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""What the near cache holds per worker thread, at 10,000 and 100,000 members.

    .venv/bin/python bench/memory.py

Builds one real member's keys and values the way a request stores them (a gated request
through the production stack, on the bench's database and Redis db), then fills a
`NearCache` thread's copies with that many members' worth (the same sizes, distinct
keys), and measures the bytes held with tracemalloc, along with the process's resident
size. Prints the bytes per member and what REDIS_NEAR_CACHE_MAX_KEYS fits a budget.
"""

import argparse
import os
import resource
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, not the project

from bench.run import ENV, say  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_members_copies() -> dict[str, bytes | None]:
    """The keys and values a gated request leaves in its thread's near cache."""
    from django.test import Client

    from apps.core.near_cache import near_cache
    from bench.population import prepare
    from bench.variants import SESSION_COOKIE

    [person] = prepare(1)
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[SESSION_COOKIE] = person["session"]
    for _ in range(3):  # the first requests compute and store; the last reads them all
        assert client.get("/bench/gated").status_code == 200
    copies = near_cache()._thread().copies  # measuring it is the point
    return dict(copies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", default="10000,100000")
    parser.add_argument("--budget-mib", type=float, default=64.0, help="per worker thread")
    args = parser.parse_args()
    os.environ.update(ENV)
    os.chdir(ROOT)
    import django

    django.setup()
    from collections import OrderedDict

    template = one_members_copies()
    per_key = sum(len(k) + len(v or b"") for k, v in template.items()) / len(template)
    say(f"One member: {len(template)} keys, {per_key:.0f} bytes of key+value each on average")

    results = {}
    for count in (int(n) for n in args.members.split(",")):
        tracemalloc.start()
        before_rss = rss_mib()
        copies: OrderedDict[str, bytes | None] = OrderedDict()
        for member in range(count):
            for key, value in template.items():
                # Distinct strings and bytes per member, as real ones are.
                copies[f"{key}#{member}"] = None if value is None else bytes(value)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[count] = held
        say(
            f"{count:>7,} members ({len(copies):,} keys): {held / 2**20:6.1f} MiB traced, "
            f"RSS +{rss_mib() - before_rss:6.1f} MiB, {held / count:,.0f} bytes per member"
        )
        del copies
    per_member = max(results.values()) / max(results)
    fits = int(args.budget_mib * 2**20 / per_member)
    say(
        f"A {args.budget_mib:.0f} MiB budget per worker thread holds {fits:,} members "
        f"= REDIS_NEAR_CACHE_MAX_KEYS {fits * len(template):,}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

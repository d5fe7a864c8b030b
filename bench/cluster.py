"""Redis Cluster: what one gated read costs with the near cache off (what ships) and
with per-node tracking (the alternative), next to a single Redis.

A gated read is `state.read(user, session_key=...)`: the one MGET of five keys a signed-in
request makes (apps/core/state/snapshot.py). The script starts a three-primary Cluster
(tests/topology/cluster.py) and a standalone redis-server on free loopback ports, writes
one member's keys, and times the read (best of 5 repeats, microseconds per read):

- single Redis, near cache on (a repeat read: no round trip) and off (one MGET);
- Cluster, near cache off: one MGET through redis-py's RedisCluster (REDIS_CLUSTER=on);
- Cluster, per-node tracking: the near cache on a connection to the node that owns the
  member's slot (what tracking per node would serve), a repeat read and a cold thread.

Run: `nice -n 19 .venv/bin/python bench/cluster.py` (needs Debian's redis-server).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django_redis import get_redis_connection  # noqa: E402

from apps.core import redis_cluster, state  # noqa: E402
from apps.core.near_cache import near_cache  # noqa: E402
from tests.topology.cluster import (  # noqa: E402
    REDIS_SERVER,
    RedisClusterNodes,
    free_ports,
    wait_until_answering,
)

USER_ID = 42
SESSION_KEY = f"{USER_ID}-{'k' * 36}"
READS = 5_000


def caches(url: str, *, cluster: bool) -> dict[str, Any]:
    aliases: dict[str, Any] = {}
    for name, alias in settings.CACHES.items():
        options = dict(alias["OPTIONS"])
        if cluster:
            options["CLIENT_CLASS"] = "apps.core.redis_cluster.ClusterClient"
        aliases[name] = {**alias, "LOCATION": url, "OPTIONS": options}
    return aliases


def per_read_us(*, cold: bool = False) -> float:
    def read() -> None:
        if cold:
            near_cache().clear()
        state.read(USER_ID, session_key=SESSION_KEY)

    read()
    return min(timeit.repeat(read, number=READS, repeat=5)) / READS * 1e6


def seed() -> list[str]:
    """The member's five keys, with values (a read then has something to copy)."""
    keys = [*state.user(USER_ID).read_keys, *state.session(USER_ID, SESSION_KEY).read_keys]
    redis = get_redis_connection("default")
    for key in keys:
        redis.set(key, b"1" if key.endswith(":gen") else b"x" * 300)
    return keys


def measure(url: str, *, cluster: bool, near: bool, cold: bool = False) -> float:
    with override_settings(CACHES=caches(url, cluster=cluster), REDIS_NEAR_CACHE=near):
        seed()
        return per_read_us(cold=cold)


def standalone(home: str) -> tuple[subprocess.Popen[bytes], str]:
    [port] = free_ports(1)
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", home,
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until_answering(port)
    return process, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    nodes = RedisClusterNodes(primaries=3).start()
    home = tempfile.mkdtemp(prefix="tollgate-bench-redis-")
    single, single_url = standalone(home)
    try:
        with override_settings(CACHES=caches(nodes.url, cluster=True)):
            key = state.user(USER_ID).generation_key
            owner = get_redis_connection("default").get_node_from_key(key)
        node_url = f"redis://{owner.host}:{owner.port}/0"
        rows = {
            "single Redis, near cache on (repeat read)": measure(
                single_url, cluster=False, near=True
            ),
            "single Redis, near cache off (one MGET)": measure(
                single_url, cluster=False, near=False
            ),
            "Cluster, near cache off (one MGET via RedisCluster)": measure(
                nodes.url, cluster=True, near=True
            ),
            "Cluster, per-node tracking (repeat read)": measure(node_url, cluster=False, near=True),
            "Cluster, per-node tracking (cold thread: one MGET)": measure(
                node_url, cluster=False, near=True, cold=True
            ),
        }
    finally:
        redis_cluster.forget()
        nodes.stop()
        single.terminate()
        single.wait()
        shutil.rmtree(home, ignore_errors=True)
    width = max(map(len, rows))
    for name, us in rows.items():
        print(f"{name:<{width}}  {us:7.1f} us/read  {1e6 / us:9,.0f} reads/s")


if __name__ == "__main__":
    main()

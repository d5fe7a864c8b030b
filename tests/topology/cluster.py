"""A Redis Cluster of three primaries on loopback, made from Debian's redis-server.

`RedisClusterNodes.start()` runs each node in its own temporary directory, joins them
with `redis-cli --cluster create` (slots split evenly, `replicas` per primary, none by
default) and waits until every node reports `cluster_state:ok` and every replica is in
sync; `stop()` ends them and removes the directories. `fail_over` promotes a primary's
replica, as an operator's CLUSTER FAILOVER does; after `kill` (a crashed node) the
Cluster promotes its replica itself once `cluster-node-timeout` (2 s here) has passed.
Ports are free ones picked at start, each with its bus port (+10000) free too.
"""

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.topology.servers import client, end, free_ports, wait_for

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
BUS_OFFSET = 10_000  # Redis Cluster's node-to-node bus listens on port + 10000


def require_binaries() -> None:
    missing = [path for path in (REDIS_SERVER, REDIS_CLI) if not Path(path).exists()]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not found: the Redis Cluster tests need Debian's "
            "redis-server and redis-tools packages (apt-get install redis-server redis-tools)."
        )


def wait_until_answering(port: int) -> None:
    wait_for(client(port).ping, timeout=10, what=f"redis-server on {port} to answer")


@dataclass
class RedisClusterNodes:
    primaries: int = 3
    replicas: int = 0  # per primary
    ports: list[int] = field(default_factory=list)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _root: Path | None = None

    @property
    def url(self) -> str:
        """A seed node's URL: redis-py's RedisCluster discovers the rest."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis.Redis:
        return client(port)

    def start(self) -> "RedisClusterNodes":
        require_binaries()
        self._root = Path(tempfile.mkdtemp(prefix="tollgate-cluster-"))
        self.ports = free_ports(self.primaries * (1 + self.replicas), also_free_at=BUS_OFFSET)
        for port in self.ports:
            self._processes.append(self._run_node(port))
        for port in self.ports:
            wait_until_answering(port)
        create = subprocess.run(  # noqa: S603 (fixed arguments, our own ports)
            [
                REDIS_CLI, "--cluster", "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas", str(self.replicas), "--cluster-yes",
            ],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if create.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed: {create.stdout!r}")
        for port in self.ports:
            wait_for(lambda port=port: self._ok(port), timeout=20, what=f"node {port} ok")
        for port in self.replica_ports():
            wait_for(lambda port=port: self._in_sync(port), timeout=20, what=f"replica {port}")
        return self

    def _role(self, port: int) -> dict[str, Any]:
        return dict(self.node(port).info("replication"))

    def _in_sync(self, port: int) -> bool:
        return self._role(port).get("master_link_status") == "up"

    def replica_ports(self) -> list[int]:
        return [port for port in self.ports if self._role(port)["role"] == "slave"]

    def replica_of(self, primary: int) -> int:
        return next(p for p in self.replica_ports() if self._role(p)["master_port"] == primary)

    def fail_over(self, primary: int) -> int:
        """Promote `primary`'s replica with CLUSTER FAILOVER (the two agree first, so
        nothing acknowledged is lost); returns the new primary's port."""
        replica = self.replica_of(primary)
        self.node(replica).execute_command("CLUSTER FAILOVER")
        self.wait_promoted(replica)
        # Until the old primary has taken the new epoch it still answers for its slots.
        wait_for(lambda: self._role(primary)["role"] == "slave", timeout=30, what="demotion")
        return replica

    def cut_replica(self, replica: int) -> None:
        """From now on `replica`'s primary acknowledges writes the replica never receives:
        the primary drops the link and the replica cannot link again (it sends a password
        the primary refuses). It can still be promoted; `mend_replica` undoes it."""
        primary = int(self._role(replica)["master_port"])
        self.node(replica).config_set("masterauth", "not-the-password")
        self.node(primary).client_kill_filter(_type="replica")
        wait_for(lambda: not self._in_sync(replica), timeout=10, what=f"replica {replica} cut")

    def revive(self) -> None:
        """Restart every killed node; each rejoins as a replica of whoever took over its
        slots (its nodes.conf remembers the Cluster), and is waited for until in sync."""
        for index, process in enumerate(self._processes):
            if process.poll() is not None:
                port = self.ports[index]
                self._processes[index] = self._run_node(port)
                wait_until_answering(port)
                wait_for(lambda port=port: self._in_sync(port), timeout=30, what=f"{port} back")
        for port in self.ports:
            wait_for(lambda port=port: self._ok(port), timeout=30, what=f"node {port} ok")

    def mend_replica(self, replica: int) -> None:
        self.node(replica).config_set("masterauth", "")

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crashed host; the Cluster notices after the node timeout."""
        process = self._processes[self.ports.index(port)]
        process.kill()
        process.wait(timeout=10)

    def wait_promoted(self, replica: int, *, dead: int | None = None) -> None:
        """Until `replica` is a primary and every live node reports the Cluster ok."""
        wait_for(lambda: self._role(replica)["role"] == "master", timeout=30, what="promotion")
        for port in self.ports:
            if port != dead:
                wait_for(lambda port=port: self._ok(port), timeout=30, what=f"node {port} ok")

    def _run_node(self, port: int) -> subprocess.Popen[bytes]:
        assert self._root is not None
        home = self._root / str(port)
        home.mkdir(exist_ok=True)  # a revived node keeps its nodes.conf
        return subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                "--dir", str(home), "--cluster-enabled", "yes",
                "--cluster-config-file", str(home / "nodes.conf"),
                "--cluster-node-timeout", "2000",
                "--save", "", "--appendonly", "no", "--logfile", str(home / "redis.log"),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def _ok(self, port: int) -> bool:
        return bool(self.node(port).cluster("INFO").get("cluster_state") == "ok")

    def move_slot(self, slot: int, *, source: int, target: int) -> None:
        """Migrate one slot and its keys from node `source` to node `target` (ports), as
        `redis-cli --cluster reshard` does; clients then get MOVED for it."""
        src, dst = self.node(source), self.node(target)
        src_id, dst_id = src.execute_command("CLUSTER MYID"), dst.execute_command("CLUSTER MYID")
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
        while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        for port in self.ports:
            self.node(port).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)

    def flush(self) -> None:
        for port in self.ports:
            if self._role(port)["role"] == "master":  # a replica refuses writes
                self.node(port).flushdb()

    def stop(self) -> None:
        end(self._processes, self._root)
        self._processes.clear()
        self._root = None

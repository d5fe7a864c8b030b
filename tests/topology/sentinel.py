"""Redis Sentinel on loopback, made from Debian's redis-server: one primary, one replica
and three sentinels (quorum 2) watching them as the service `tollgate`.

`RedisSentinelTopology.start()` runs each server in its own temporary directory and
waits until the replica is in sync and every sentinel sees the primary, the replica and
the two other sentinels; `stop()` ends them and removes the directories. `failover()`
kills the primary (SIGKILL), waits until the sentinels have promoted the replica, and
starts the old primary again as a replica of the new one. `cut_replica()` makes the
primary acknowledge writes the replica never gets (the write a failover loses).
Servers are started with `--repl-diskless-sync-delay 0`, so a replica syncs at once.
"""

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.topology.servers import client, end, free_ports, wait_for

REDIS_SERVER = "/usr/bin/redis-server"
SERVICE = "tollgate"
DOWN_AFTER_MS = 2000  # a primary silent this long is down for a sentinel
FAILOVER_TIMEOUT_MS = 2000


def require_binaries() -> None:
    if not Path(REDIS_SERVER).exists():
        raise RuntimeError(
            f"{REDIS_SERVER} not found: the Redis Sentinel tests need Debian's redis-server "
            "package (apt-get install redis-server), which also runs sentinels."
        )


@dataclass
class RedisSentinelTopology:
    primary: int = 0  # the port of the current primary
    replica: int = 0
    sentinels: list[int] = field(default_factory=list)
    _processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    _root: Path | None = None

    @property
    def addresses(self) -> list[str]:
        """REDIS_SENTINELS' value for this topology."""
        return [f"127.0.0.1:{port}" for port in self.sentinels]

    def start(self) -> "RedisSentinelTopology":
        require_binaries()
        self._root = Path(tempfile.mkdtemp(prefix="tollgate-sentinel-"))
        self.primary, self.replica, *self.sentinels = free_ports(5)
        try:
            self._run_server(self.primary)
            self._run_server(self.replica, replica_of=self.primary)
            self._wait_in_sync(self.replica)
            for port in self.sentinels:
                self._run_sentinel(port)
            self._wait_watched()
        except BaseException:
            self.stop()
            raise
        return self

    def _home(self, port: int) -> Path:
        assert self._root is not None
        home = self._root / str(port)
        home.mkdir(exist_ok=True)
        return home

    def _run_server(self, port: int, *, replica_of: int | None = None) -> None:
        home = self._home(port)
        replication = ["--replicaof", "127.0.0.1", str(replica_of)] if replica_of else []
        self._processes[port] = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home),
                "--save", "", "--appendonly", "no", "--logfile", str(home / "redis.log"),
                "--repl-diskless-sync-delay", "0",  # a replica syncs at once, not in 5 s
                *replication,
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(client(port).ping, timeout=10, what=f"redis-server on {port} to answer")

    def _run_sentinel(self, port: int) -> None:
        home = self._home(port)
        conf = home / "sentinel.conf"  # sentinels rewrite their own file: one each
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {home}\nlogfile {home / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self._processes[port] = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [REDIS_SERVER, str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(client(port).ping, timeout=10, what=f"sentinel on {port} to answer")

    def _wait_in_sync(self, port: int) -> None:
        """Until the primary's writes reach replica `port`: after a full sync the primary
        streams to it only from its first REPLCONF ACK (up to a second later), so a WAIT
        that succeeds is the test, not the replica's "link up"."""

        def in_sync() -> bool:
            primary = client(self.primary)
            primary.set("tollgate-harness:sync", port, ex=60)
            return bool(int(primary.execute_command("WAIT", 1, 200)) >= 1)

        wait_for(in_sync, timeout=20, what=f"replica {port} in sync")

    def _wait_watched(self) -> None:
        """Every sentinel names the primary and sees a healthy replica and two peers."""

        def watched(port: int) -> bool:
            sentinel = client(port)
            master = sentinel.sentinel_master(SERVICE)
            replicas = sentinel.sentinel_slaves(SERVICE)
            return bool(
                int(master["port"]) == self.primary
                and master["is_master"]
                and not (master["is_sdown"] or master["is_odown"])
                and int(master["num-other-sentinels"]) == len(self.sentinels) - 1
                and any(
                    int(r["port"]) == self.replica
                    and not (r["is_sdown"] or r["is_odown"])
                    and r["master-link-status"] == "ok"
                    for r in replicas
                )
            )

        for port in self.sentinels:
            wait_for(lambda port=port: watched(port), timeout=30, what=f"sentinel {port} ready")

    def node(self, port: int) -> redis.Redis:
        return client(port)

    def flush(self) -> None:
        self.node(self.primary).flushall()
        self._wait_in_sync(self.replica)

    def kill(self, port: int) -> None:
        process = self._processes.pop(port)
        process.kill()
        process.wait(timeout=10)

    def pause(self, port: int) -> None:
        os.kill(self._processes[port].pid, signal.SIGSTOP)

    def resume(self, port: int) -> None:
        os.kill(self._processes[port].pid, signal.SIGCONT)

    def cut_replica(self) -> None:
        """From now on the primary acknowledges writes its replica never receives: the
        primary drops the replica's link, and the replica cannot link again (it now
        sends a password the primary refuses). It keeps answering the sentinels, so it
        can still be promoted. Follow with `failover(replica_was_cut=True)`."""
        self.node(self.replica).config_set("masterauth", "not-the-password")
        self.node(self.primary).client_kill_filter(_type="replica")

    def failover(self, *, replica_was_cut: bool = False) -> float:
        """Kill the primary; return once every sentinel names the replica as primary and
        the old primary is back as its replica, in sync. Returns the seconds it took."""
        started = time.monotonic()
        old, new = self.primary, self.replica
        self.kill(old)

        def promoted() -> bool:
            for port in self.sentinels:
                _, port_ = client(port).sentinel_get_master_addr_by_name(SERVICE)
                if int(port_) != new:
                    return False
            return bool(client(new).info("replication")["role"] == "master")

        wait_for(promoted, timeout=30, what=f"the sentinels to promote {new}")
        if replica_was_cut:
            client(new).config_set("masterauth", "")  # as a replica again, it may link
        self.primary, self.replica = new, old
        self._run_server(old, replica_of=new)
        self._wait_in_sync(old)
        self._wait_watched()
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self._processes.values():
            os.kill(process.pid, signal.SIGCONT)  # a paused server cannot stop
        end(self._processes.values(), self._root)
        self._processes.clear()
        self._root = None

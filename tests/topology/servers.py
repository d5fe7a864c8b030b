"""What the Redis topologies started by these tests share: free loopback ports, a wait
that tolerates a server still starting, a plain client of one server, and ending the
servers."""

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import redis


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, also_free_at: int = 0) -> list[int]:
    """`count` distinct free ports; with `also_free_at`, only ports whose port plus that
    offset is free too (a Cluster node's bus listens at port + 10000)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port in ports:
            continue
        if also_free_at and not (port + also_free_at < 65_536 and _free(port + also_free_at)):
            continue
        ports.append(port)
    return ports


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    """Until `condition()` is true; a Redis or socket error counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def end(processes: Iterable[subprocess.Popen[bytes]], root: Path | None) -> None:
    """SIGTERM every server, wait for each (SIGKILL after 10 s), then remove `root`."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)

"""Three app hosts, each in its own network namespace, sharing one Redis and one Postgres.

    netns A: gunicorn (A_ADDR)  ── veth ──  root: forwarders on A_GW → Redis, Postgres;
                                                  the fake Stripe API on A_GW
    netns B: gunicorn (B_ADDR)  ── veth ──  root: forwarder on B_GW → Postgres;
                                                  tests/multihost/proxy.py on B_GW → Redis
    netns C: gunicorn (C_ADDR)  ── veth ──  root: forwarder on C_GW → Postgres;
                                                  a second proxy on C_GW → Redis

The revocation tests post webhooks to A and read on B and C, which each reach Redis
through a delaying proxy of their own (delay, jitter and stalls of Redis → B and
Redis → C, set apart); any host can take a webhook (each namespace routes through its
gateway, so all reach the fake Stripe API on A's link). Redis and Postgres
listen on 127.0.0.1 only, so the root namespace forwards from each veth's address. Each
host runs the test settings (tests/multihost/settings.py) against the test database.
Where namespaces cannot be made (not root, no iproute2), every host and forwarder runs
on 127.0.0.1 instead, on its own port: the same processes and the same delayed links,
without separate network stacks (`Network.isolated` says which one ran).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
PROXY = Path(__file__).with_name("proxy.py")


@dataclass(frozen=True)
class Side:
    """One host's end of the network: where it listens, where it reaches the root."""

    namespace: str | None
    address: str  # the host's own address (gunicorn binds here)
    gateway: str  # the root namespace's address on this host's link

    def command(self, argv: list[str]) -> list[str]:
        return [IP, "netns", "exec", self.namespace, *argv] if self.namespace else argv


HOSTS = ("a", "b", "c")


@dataclass(frozen=True)
class Network:
    sides: dict[str, Side]  # by host name, HOSTS
    isolated: bool  # True: network namespaces; False: the loopback fallback

    @property
    def a(self) -> Side:
        return self.sides["a"]


IP = shutil.which("ip") or "/usr/sbin/ip"


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run([IP, *args], check=check, capture_output=True)  # noqa: S603 - our own argv


def _teardown(names: list[str]) -> None:
    for name in names:
        _ip("link", "del", f"{name}h", check=False)
        _ip("netns", "del", name, check=False)


@contextlib.contextmanager
def network() -> Iterator[Network]:
    """One namespace per host in HOSTS, joined to the root by veth pairs, removed afterwards."""
    tag = os.getpid() % 10000
    names = [f"tgmh{tag}{host}" for host in HOSTS]
    subnet = f"10.213.{tag % 250}"
    sides: list[Side] = []
    try:
        if os.geteuid() != 0 or not shutil.which("ip"):
            raise PermissionError("network namespaces need root and iproute2")
        _teardown(names)  # left over from a killed run with the same pid
        for index, name in enumerate(names):
            gateway, address = f"{subnet}.{4 * index + 1}", f"{subnet}.{4 * index + 2}"
            _ip("netns", "add", name)
            _ip("link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}n")
            _ip("link", "set", f"{name}n", "netns", name)
            _ip("addr", "add", f"{gateway}/30", "dev", f"{name}h")
            _ip("link", "set", f"{name}h", "up")
            for args in (
                ["addr", "add", f"{address}/30", "dev", f"{name}n"],
                ["link", "set", f"{name}n", "up"],
                ["link", "set", "lo", "up"],
                # Any host may take a webhook, and reach the fake Stripe API on A's link.
                ["route", "add", "default", "via", gateway],
            ):
                _ip("netns", "exec", name, IP, *args)
            sides.append(Side(name, address, gateway))
    except (OSError, subprocess.CalledProcessError):
        _teardown(names)
        loopback = Side(None, "127.0.0.1", "127.0.0.1")
        yield Network(dict.fromkeys(HOSTS, loopback), isolated=False)
        return
    try:
        yield Network(dict(zip(HOSTS, sides, strict=True)), isolated=True)
    finally:
        _teardown(names)


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


class Proxy:
    """tests/multihost/proxy.py in its own process; `delay`/`jitter`/`stall` act on the
    bytes its routes carry back from their targets."""

    def __init__(self, routes: list[tuple[str, str]]) -> None:
        argv = [sys.executable, str(PROXY)]
        for listen, target in routes:
            argv += ["--route", f"{listen}={target}"]
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the proxy did not start")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def delay(self, seconds: float) -> None:
        self.send(f"delay {seconds}")

    def jitter(self, seconds: float) -> None:
        self.send(f"jitter {seconds}")

    def stall(self, seconds: float) -> None:
        self.send(f"stall {seconds}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Host:
    base_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_host(
    side: Side,
    *,
    name: str,
    env: dict[str, str],
    threads: int,
    logs: Path,
    settings_module: str = "tests.multihost.settings",
) -> Host:
    port = free_port(side.address) if side.namespace is None else 8000
    log = logs / f"host-{name}.log"
    host_env = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "GUNICORN_BIND": f"{side.address}:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_MAX_REQUESTS": "0",
    }
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own argv
            side.command(argv), cwd=ROOT, env=host_env, stdout=out, stderr=subprocess.STDOUT
        )
    return Host(f"http://{side.address}:{port}", proc, log)


def wait_ready(host: Host, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{host.base_url}/healthz", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{host.base_url} did not start:\n{host.log.read_text()[-3000:]}")


@dataclass
class Cluster:
    network: Network
    hosts: dict[str, Host]  # by name, HOSTS
    links: dict[str, Proxy]  # the Redis link of each reading host (B, C)
    env: dict[str, str]  # what every host's environment adds (REDIS_NEAR_CACHE, ...)

    @property
    def a(self) -> Host:
        return self.hosts["a"]

    @property
    def readers(self) -> dict[str, Host]:
        """The hosts that only read (B, C): each behind its own delaying link."""
        return {name: host for name, host in self.hosts.items() if name in self.links}


@contextlib.contextmanager
def cluster(
    net: Network,
    *,
    redis_url: str,
    database_url: str,
    stripe_port: int,
    env: dict[str, str],
    logs: Path,
    settings_module: str = "tests.multihost.settings",
    redis_variable: str = "TEST_REDIS_URL",
    stripe_variable: str = "MULTIHOST_STRIPE_API",
    threads: int = 2,
) -> Iterator[Cluster]:
    """Hosts A, B and C with their forwarders; Redis → B and Redis → C each go through
    a delaying proxy of their own. The hosts read Redis's URL from `redis_variable` and
    the fake Stripe API's from `stripe_variable` (the test settings' names by default;
    bench/soak.py runs bench.settings)."""
    redis, database = urlsplit(redis_url), urlsplit(database_url)
    redis_target = f"{redis.hostname}:{redis.port or 6379}"
    pg_target = f"{database.hostname}:{database.port or 5432}"
    ports = {
        (name, service): free_port(side.gateway)
        for name, side in net.sides.items()
        for service in ("redis", "pg")
    }

    def route(name: str, service: str, target: str) -> tuple[str, str]:
        return f"{net.sides[name].gateway}:{ports[name, service]}", target

    plain = Proxy(
        [route("a", "redis", redis_target)] + [route(name, "pg", pg_target) for name in HOSTS]
    )
    links = {name: Proxy([route(name, "redis", redis_target)]) for name in HOSTS if name != "a"}
    hosts: dict[str, Host] = {}
    try:
        for name, side in net.sides.items():
            host_env = {
                **env,
                redis_variable: redis_url.replace(
                    redis.netloc, f"{side.gateway}:{ports[name, 'redis']}"
                ),
                "DATABASE_URL": database_url.replace(
                    database.netloc.rpartition("@")[2], f"{side.gateway}:{ports[name, 'pg']}"
                ),
                stripe_variable: f"http://{net.a.gateway}:{stripe_port}",
                "ALLOWED_HOSTS": ",".join(side.address for side in net.sides.values()),
            }
            hosts[name] = start_host(
                side,
                name=name,
                env=host_env,
                threads=threads,
                logs=logs,
                settings_module=settings_module,
            )
        for host in hosts.values():
            wait_ready(host)
        yield Cluster(net, hosts, links, env)
    finally:
        for host in hosts.values():
            host.stop()
        for link in links.values():
            link.stop()
        plain.stop()

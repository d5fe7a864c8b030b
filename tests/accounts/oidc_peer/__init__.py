"""A real OpenID Provider on loopback for the tests: panva's oidc-provider (OpenID
Certified), from the npm registry, installed by `make test` (npm ci here) and started as
a subprocess. `server.mjs` configures one client and the accounts given."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
CLIENT_ID = "tollgate-peer-client"
CLIENT_SECRET = "tollgate-peer-secret"


class PeerUnavailableError(RuntimeError):
    """node or the installed package is missing (the message says how to install them)."""


@dataclass(frozen=True)
class Peer:
    issuer: str  # also the server URL Tollgate is configured with
    client_id: str
    client_secret: str

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _check_installed() -> str:
    node = shutil.which("node")
    if node is None:
        raise PeerUnavailableError("node is not installed: apt-get install nodejs npm")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise PeerUnavailableError(f"oidc-provider is not installed: npm ci --prefix {HERE}")
    return node


@contextmanager
def running_peer(
    *, redirect_uris: list[str], accounts: dict[str, dict[str, Any]], timeout: float = 20.0
) -> Iterator[Peer]:
    """Start the provider with one client and these accounts; stop it on exit."""
    node = _check_installed()
    port = _free_port()
    env = {
        **os.environ,
        "PEER_PORT": str(port),
        "PEER_CLIENT": json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
            }
        ),
        "PEER_ACCOUNTS": json.dumps(accounts),
    }
    # A file, not a pipe: nobody reads the provider's log while it runs, and a full pipe
    # would block it.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [node, str(HERE / "server.mjs")],
        cwd=HERE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    peer = Peer(issuer=f"http://127.0.0.1:{port}", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    try:
        _wait_until_serving(process, peer, log, timeout)
        yield peer
    finally:
        log.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(
    process: subprocess.Popen[str], peer: Peer, log: Any, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the OpenID Provider exited ({process.returncode}): {log.read()}")
        try:
            if requests.get(peer.discovery_url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the OpenID Provider did not answer at {peer.discovery_url}")

"""Fixtures for fault and hardening tests: a redis-server of our own, a fresh Redis
outage tracker per test, signed-in members, production settings and a Postgres outage.

The shared Redis (6379) is only ever used through the normal test db; every test that
stops, restarts or flushes Redis does it to the server started here.
"""

import copy
import importlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis as redis_py
from allauth.account.models import EmailAddress
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse

from apps.core import redis_outage as redis_outage_module
from apps.core.redis_outage import RedisOutage

# Settings production.py changes for HTTPS (read from the module itself, not copied).
PRODUCTION_SECURITY = (
    "DEBUG",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_NAME",
)
PRODUCTION_ENV = {
    "SECRET_KEY": "test-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tollgate",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "testserver",
}


OUTAGE_USERS = ("apps.accounts.identity", "apps.accounts.services", "apps.billing.access.resolver")


@pytest.fixture(autouse=True)
def outage(settings, monkeypatch) -> RedisOutage:  # type: ignore[no-untyped-def]
    """A fresh circuit breaker, so no test inherits another's "Redis is down"."""
    fresh = RedisOutage()
    shared = redis_outage_module.redis_outage
    # Import the lazily loaded ones first, or they would keep this test's instance.
    for name in (*OUTAGE_USERS, settings.SESSION_ENGINE):
        importlib.import_module(name)
    # Every module that did `from apps.core.redis_outage import redis_outage` (identity,
    # services, the session store, the Access resolver, ...) holds its own reference.
    for name, module in list(sys.modules.items()):
        if name.startswith("apps.") and getattr(module, "redis_outage", None) is shared:
            monkeypatch.setattr(module, "redis_outage", fresh)
    return fresh


# --- A redis-server owned by the test ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, port: int, workdir: str, *extra: str) -> None:
        self.port, self.workdir, self.extra = port, workdir, extra
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def client(self) -> redis_py.Redis:
        return redis_py.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.workdir),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis_py.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def flush(self) -> None:
        self.client().flushall()


@pytest.fixture
def own_redis(settings, tmp_path) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """A private redis-server that both cache aliases (and so sessions) point at."""
    yield from _private_redis(settings, str(tmp_path))


@pytest.fixture
def redis_without_client_command(settings, tmp_path) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """Like a managed Redis that blocks CLIENT: no client tracking for the near cache."""
    yield from _private_redis(settings, str(tmp_path), "--rename-command", "CLIENT", '""')


def _private_redis(settings: Any, workdir: str, *extra: str) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(_free_port(), workdir, *extra)
    server.start()
    caches = copy.deepcopy(settings.CACHES)
    for alias in ("default", "sessions"):
        caches[alias]["LOCATION"] = server.url
    settings.CACHES = caches
    try:
        yield server
    finally:
        server.stop()


# --- People ------------------------------------------------------------------------


def verified(user: Any) -> Any:
    """`user` with the verified primary address allauth requires to sign in."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    return verified(user)


def sign_in(client: Client, *, email: str, password: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


@pytest.fixture
def signed_in(member, password) -> Callable[[], Client]:  # type: ignore[no-untyped-def]
    """signed_in() -> a new device signed in through allauth's real login view."""

    def make() -> Client:
        device = Client(raise_request_exception=False)
        response = sign_in(device, email=member.email, password=password)
        assert response.status_code == 302, response.content
        return device

    return make


def who(response: Any) -> Any:
    return response.wsgi_request.user


# --- Production settings -----------------------------------------------------------


@pytest.fixture
def production(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Apply config/settings/production.py's HTTPS and cookie settings to this test."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEBUG", "true")  # production must ignore it
    monkeypatch.delitem(sys.modules, "config.settings.production", raising=False)
    module = importlib.import_module("config.settings.production")
    monkeypatch.delitem(sys.modules, "config.settings.production")
    for name in PRODUCTION_SECURITY:
        setattr(settings, name, getattr(module, name))
    return module


# --- Postgres unreachable ----------------------------------------------------------


@pytest.fixture
def postgres_down(monkeypatch) -> Callable[[], Any]:
    """with postgres_down(): every SQL statement fails as if the server were gone."""

    def refuse(self: CursorWrapper, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection to server at 127.0.0.1 failed (simulated)")

    @contextmanager
    def down() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setattr(CursorWrapper, "execute", refuse)
            patch.setattr(CursorWrapper, "executemany", refuse)
            yield

    return down

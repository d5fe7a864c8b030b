"""A real receiver on loopback (verifying with the standardwebhooks library) and a real
worker process (`manage.py procrastinate worker`) on the test database."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.events.models import ACCESS_CHANGED, SESSION_ENDED, Delivery, Endpoint

ROOT = Path(__file__).resolve().parents[2]

# The worker process and this one must agree: the test process writes each delivery's
# attempt budget, the worker waits and times out.
FAST_RETRIES = {
    "EVENTS_MAX_ATTEMPTS": "3",
    "EVENTS_RETRY_BASE": "0.2",
    "EVENTS_RETRY_CAP": "0.4",
    "EVENTS_TIMEOUT": "0.5",
    "EVENTS_POLL_INTERVAL": "0.05",
}


@dataclass
class Received:
    headers: dict[str, str]
    payload: dict[str, Any]
    at: float  # time.time() when the request arrived


@dataclass
class Receiver:
    """A tiny HTTP receiver. `script` answers the next requests in turn: a status code,
    or "hang" (answers after 2 s, past the timeout); 200 once it is used up."""

    secret: str = ""
    url: str = ""
    script: list[int | str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int | str:
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            self.rejected.append(str(exc))
            return 400
        with self.lock:
            self.received.append(Received(headers=headers, payload=payload, at=time.time()))
            return self.script.pop(0) if self.script else 200

    def wait_for(self, count: int, *, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            answer = state.handle(dict(self.headers.items()), body)
            if answer == "hang":
                time.sleep(2)
                answer = 200
            self.send_response(int(answer))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_for(db) -> Callable[..., Endpoint]:  # type: ignore[no-untyped-def]
    def make(receiver: Receiver | None = None, **fields: Any) -> Endpoint:
        fields.setdefault("event_types", [ACCESS_CHANGED, SESSION_ENDED])
        url = receiver.url if receiver else "http://127.0.0.1:9/nobody-listens"
        endpoint = Endpoint.objects.create(name="ledger", url=url, **fields)
        if receiver:
            receiver.secret = endpoint.secret
        return endpoint

    return make


@pytest.fixture
def fast_retries(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    for name, value in FAST_RETRIES.items():
        setattr(settings, name, float(value) if "." in value else int(value))
    return FAST_RETRIES


@pytest.fixture
def worker(transactional_db, fast_retries, tmp_path) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """`manage.py procrastinate worker` on the test database, stopped after the test."""
    db = connection.settings_dict
    env = {
        **os.environ,
        **fast_retries,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    with connection.cursor() as cursor:  # procrastinate's tables are not flushed by Django
        cursor.execute("DELETE FROM procrastinate_periodic_defers")
        cursor.execute("DELETE FROM procrastinate_jobs")


def settled(delivery: Delivery, *, timeout: float = 20.0) -> Delivery:
    """The delivery once it is delivered or dead (polls Postgres)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status in (Delivery.Status.DELIVERED, Delivery.Status.DEAD):
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery.pk} still {delivery.status} after {timeout} s")

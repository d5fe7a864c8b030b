"""Tollgate on a live server (a thread of the test process, on the test database), the
events worker as a process of its own, and the example reports service as a uvicorn
process talking to both over loopback HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from allauth.account.models import EmailAddress
from django.conf import settings

from apps.events.models import ACCESS_CHANGED, SESSION_ENDED, Endpoint
from apps.services import services
from tests.billing import stripe_builders as build
from tests.events.conftest import fast_retries, worker  # noqa: F401 - fixtures used here

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8600, 8631)  # this suite's servers stay off the benchmark's 8100-8130
APP = "/_allauth/app/v1"


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@pytest.fixture
def tollgate(live_server, settings) -> str:  # type: ignore[no-untyped-def]
    """Tollgate's URL; it is also the tokens' issuer, so the JWKS URL in its discovery
    document is one the example can fetch."""
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return str(live_server.url)


@dataclass
class Member:
    """A member's app, signed in headlessly over HTTP: its access and refresh token."""

    tollgate: str
    access_token: str
    refresh_token: str
    subscription: dict[str, Any]

    def sign_out(self) -> int:
        response = requests.delete(
            f"{self.tollgate}{APP}/auth/session",
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout=10,
        )
        return response.status_code


@pytest.fixture
def member(tollgate, user, password, subscribe) -> Member:  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    subscription = subscribe("pro_monthly")
    response = requests.post(
        f"{tollgate}{APP}/auth/login",
        json={"email": user.email, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    meta = response.json()["meta"]
    return Member(tollgate, meta["access_token"], meta["refresh_token"], subscription)


@pytest.fixture
def stripe_says(tollgate, webhook_url, fake_stripe) -> Callable[[Member, str], float]:  # type: ignore[no-untyped-def]
    """stripe_says(member, "past_due" | "active") -> time.time() when Tollgate answered
    200 to Stripe's signed webhook moving the member's subscription there (a failed
    invoice payment, or the subscription paid again)."""

    def send(member: Member, status: str) -> float:
        sub = fake_stripe.update(member.subscription["id"], status=status)
        if status == "past_due":
            invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
            event = build.event(fake_stripe, "invoice.payment_failed", invoice)
        else:
            event = build.event(fake_stripe, "customer.subscription.updated", sub)
        body = json.dumps(event)
        response = requests.post(
            tollgate + webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET),
            },
            timeout=10,
        )
        answered = time.time()
        assert response.status_code == 200, response.text
        return answered

    return send


@dataclass
class Example:
    url: str
    process: subprocess.Popen[bytes]

    def reports(self, token: str) -> requests.Response:
        return requests.get(
            f"{self.url}/reports", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


def start_example(env: dict[str, str], log: Path, port: int) -> Example:
    out = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.reports_service.app:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    example = Example(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the example exited: {log.read_text()}")
        try:
            if requests.get(f"{example.url}/healthz", timeout=1).ok:
                return example
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the example did not start: {log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(params=["introspection", "push"])
def example(request, tollgate, tmp_path) -> Iterator[Example]:  # type: ignore[no-untyped-def]
    """The reports service in each mode, with credentials of its own; in push mode also
    an events endpoint registered for it and the worker that delivers to it."""
    issued = services.service_create(name="Reports")
    env = {
        "TOLLGATE_URL": tollgate,
        "REPORTS_MODE": request.param,
        "REPORTS_CLIENT_ID": issued.service.client_id,
        "REPORTS_CLIENT_SECRET": issued.secret,
    }
    port = free_port()
    if request.param == "push":
        endpoint = Endpoint.objects.create(
            name="reports",
            url=f"http://127.0.0.1:{port}/events",
            event_types=[ACCESS_CHANGED, SESSION_ENDED],
        )
        env["REPORTS_EVENTS_SECRET"] = endpoint.secret
        request.getfixturevalue("worker")
    started = start_example(env, tmp_path / "example.log", port)
    yield started
    stop(started.process)

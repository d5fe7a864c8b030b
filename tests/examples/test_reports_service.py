"""End to end with a second service: the example reports service (its own process,
Starlette on uvicorn) verifies Tollgate's tokens with the JWKS and learns revocations by
introspection or by pushed events."""

import json
import os
import time
from pathlib import Path

import pytest
import requests

from tests.examples.conftest import Example, Member

pytestmark = pytest.mark.django_db(transaction=True)

# Push mode denies within the bound, measured by bench/second_service.py; here a
# generous ceiling on a loaded machine.
PUSH_CEILING = 10.0
# bench/second_service.py sets these for its many runs; the suite makes a handful.
RUNS = int(os.environ.get("SECOND_SERVICE_RUNS", "3"))
RESULTS = os.environ.get("SECOND_SERVICE_RESULTS")


def first_answer(example: Example, token: str, *, timeout: float) -> float:
    """Polls GET /reports until it answers 200 again: time.time() then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if example.reports(token).status_code == 200:
            return time.time()
        time.sleep(0.005)
    raise AssertionError(f"still refused after {timeout} s")


def first_denial(example: Example, token: str, *, timeout: float) -> tuple[float, int]:
    """Polls GET /reports until it is refused: (time.time() then, the status code)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = example.reports(token)
        if response.status_code != 200:
            return time.time(), response.status_code
        time.sleep(0.005)
    raise AssertionError(f"still 200 after {timeout} s")


def mode(example: Example) -> str:
    return str(requests.get(f"{example.url}/healthz", timeout=5).json()["mode"])


def test_a_paying_member_gets_reports(example, member: Member):
    response = example.reports(member.access_token)

    assert response.status_code == 200, response.text
    assert response.json()["reports"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_past_due_webhook_denies_the_next_request_or_within_the_bound(
    example, member: Member, stripe_says
):
    assert example.reports(member.access_token).status_code == 200

    answered = stripe_says(member, "past_due")

    if mode(example) == "introspection":
        response = example.reports(member.access_token)
        assert response.status_code == 403, response.text
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    else:
        denied_at, status = first_denial(example, member.access_token, timeout=PUSH_CEILING)
        assert status == 403
        assert denied_at - answered < PUSH_CEILING


def test_signing_out_denies_the_token(example, member: Member):
    assert example.reports(member.access_token).status_code == 200

    assert member.sign_out() == 401  # allauth's answer once the session is gone

    if mode(example) == "introspection":
        response = example.reports(member.access_token)
    else:
        first_denial(example, member.access_token, timeout=PUSH_CEILING)
        response = example.reports(member.access_token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_forged_or_missing_token_is_refused_without_asking(example, member: Member):
    header, payload, _ = member.access_token.split(".")

    assert example.reports(f"{header}.{payload}.AAAA").status_code == 401
    assert requests.get(f"{example.url}/reports", timeout=5).status_code == 401


def test_the_revocation_bound_over_runs(example, member: Member, stripe_says):
    """RUNS times: paid again (wait for 200), past_due (poll until refused), the time from
    the webhook's 200 to the first refusal recorded (bench/second_service.py sums it up)."""
    which = mode(example)
    bounds: list[float] = []
    for _ in range(RUNS):
        stripe_says(member, "active")
        first_answer(example, member.access_token, timeout=PUSH_CEILING)
        answered = stripe_says(member, "past_due")
        denied_at, status = first_denial(example, member.access_token, timeout=PUSH_CEILING)
        assert status == 403
        bounds.append(denied_at - answered)

    if which == "introspection":
        # Asked on every request, so the first request after the 200 is refused. (The
        # figure is then just one round trip; it is recorded to compare the modes.)
        assert all(bound < PUSH_CEILING for bound in bounds)
    assert max(bounds) < PUSH_CEILING
    if RESULTS:
        out = Path(RESULTS)
        found = json.loads(out.read_text()) if out.exists() else {}
        found[which] = bounds
        out.write_text(json.dumps(found, indent=2))

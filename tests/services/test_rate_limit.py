"""Failed service authentications are rate-limited per client IP and per client id;
valid credentials never are."""

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import basic

pytestmark = pytest.mark.django_db


def attempt(auth: str, *, ip: str = "10.0.0.1") -> int:
    response = Client(REMOTE_ADDR=ip).post(
        reverse("services:introspect"), {"token": "x"}, HTTP_AUTHORIZATION=auth
    )
    return response.status_code


@pytest.fixture(autouse=True)
def _limits(settings):  # type: ignore[no-untyped-def]
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "service_auth_failed": "5/m/ip,3/m/key",
    }


def test_failures_past_the_per_ip_limit_answer_429(issued):
    wrong = [basic(f"svc_{n:024x}", "tgs_nope") for n in range(6)]  # six client ids

    statuses = [attempt(auth) for auth in wrong]

    assert statuses == [401] * 5 + [429]
    assert attempt(wrong[0], ip="10.0.0.2") == 401  # another address has its own count


def test_failures_past_the_per_client_limit_answer_429_from_any_address(issued):
    wrong = basic(issued.service.client_id, "tgs_nope")

    statuses = [attempt(wrong, ip=f"10.0.1.{n}") for n in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_the_429_says_when_to_retry(issued):
    wrong = basic(issued.service.client_id, "tgs_nope")
    for _ in range(3):
        attempt(wrong)

    response = Client(REMOTE_ADDR="10.0.0.1").post(
        reverse("services:introspect"), {"token": "x"}, HTTP_AUTHORIZATION=wrong
    )

    assert response.status_code == 429
    assert response["Retry-After"]


def test_valid_credentials_are_never_blocked_by_someone_elses_failures(issued):
    wrong = basic(issued.service.client_id, "tgs_nope")
    for _ in range(10):
        attempt(wrong)

    assert attempt(basic(issued.service.client_id, issued.secret)) == 200


def test_valid_credentials_are_never_counted(issued, redis):
    for _ in range(20):
        assert attempt(basic(issued.service.client_id, issued.secret)) == 200

    assert not redis.keys("*service_auth_failed*")


def test_a_counter_outage_still_refuses(issued, monkeypatch):
    from allauth.core import ratelimit
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("down")

    monkeypatch.setattr(ratelimit, "consume", down)

    assert attempt(basic(issued.service.client_id, "tgs_nope")) == 401

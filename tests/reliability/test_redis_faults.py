"""Redis flushed, restarted or stopped under signed-in users (a redis-server of our own):
nobody is signed out, access decisions stay right, nothing answers 5xx."""

import logging

import pytest
from django.urls import reverse

from tests.reliability.conftest import sign_in, who

pytestmark = pytest.mark.django_db

PAGES = ["web:home", "web:pricing", "web:dashboard", "web:billing"]


def gated(device):  # type: ignore[no-untyped-def]
    """GET the paid area (needs `reports`): True if served, False if sent to pricing."""
    response = device.get(reverse("web:reports"))
    assert response.status_code in (200, 302), response.status_code
    assert who(response).is_authenticated
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("web:pricing"))
    return response.status_code == 200


@pytest.fixture(params=["active", "canceled"])
def subscriber(request, own_redis, subscribe, signed_in):  # type: ignore[no-untyped-def]
    """(device signed in before the fault, whether its access must be granted)."""
    subscribe("pro_monthly", status=request.param)
    device = signed_in()
    granted = request.param == "active"
    assert gated(device) is granted  # warms the session, identity and Access in Redis
    return device, granted


@pytest.mark.parametrize("fault", ["flush", "restart"])
def test_users_stay_signed_in_with_correct_access_after_redis_loses_its_data(
    own_redis, subscriber, fault
):
    device, granted = subscriber

    getattr(own_redis, fault)()

    for _ in range(3):
        assert gated(device) is granted
    for name in PAGES:
        response = device.get(reverse(name))
        assert response.status_code == 200, (name, response.status_code)
        assert who(response).is_authenticated


def test_with_redis_stopped_pages_serve_and_access_is_decided_from_postgres(
    own_redis, subscriber, outage, client, caplog
):
    device, granted = subscriber
    caplog.set_level(logging.WARNING, logger="tollgate.redis")

    own_redis.stop()

    for _ in range(3):
        assert gated(device) is granted  # never granted on error: canceled stays denied
    for name in PAGES:
        response = device.get(reverse(name))
        assert response.status_code == 200, (name, response.status_code)
        assert who(response).is_authenticated
    anonymous = client.get(reverse("web:home"))
    assert anonymous.status_code == 200
    assert outage.is_down
    warnings = [r.getMessage() for r in caplog.records if r.name == "tollgate.redis"]
    assert len(warnings) == 1, warnings
    assert "unreachable" in warnings[0]

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["redis"]


def test_login_with_redis_stopped_fails_closed_because_the_rate_limit_cannot_be_checked(
    own_redis, member, password, client
):
    own_redis.stop()

    response = sign_in(client, email=member.email, password=password)

    assert response.status_code == 503
    assert b"We'll be right back" in response.content
    assert not who(client.get(reverse("web:home"))).is_authenticated


def test_redis_back_after_an_outage_is_logged_once_and_used_again(
    own_redis, subscriber, outage, caplog, monkeypatch
):
    device, granted = subscriber
    caplog.set_level(logging.WARNING, logger="tollgate.redis")
    own_redis.stop()
    assert gated(device) is granted
    own_redis.start()
    monkeypatch.setattr("apps.core.redis_outage.RETRY_AFTER_SECONDS", 0.0)

    assert gated(device) is granted
    assert gated(device) is granted

    assert not outage.is_down
    messages = [r.getMessage() for r in caplog.records if r.name == "tollgate.redis"]
    assert len(messages) == 2
    assert "reachable again" in messages[1]


def test_a_redis_that_refuses_client_tracking_still_serves_with_one_mget_a_page(
    redis_without_client_command, subscribe, signed_in, redis_round_trips, caplog
):
    """Managed services may block CLIENT: the near cache steps aside, logging once."""
    caplog.set_level(logging.WARNING, logger="tollgate.redis")
    subscribe("pro_monthly")
    device = signed_in()

    for _ in range(3):
        assert gated(device)
    redis_round_trips.clear()
    assert gated(device)

    assert redis_round_trips == ["MGET"]
    refusals = [r for r in caplog.records if "client tracking" in r.getMessage()]
    assert len(refusals) == 1

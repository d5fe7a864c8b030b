import time

import pytest
from django.urls import reverse

from apps.billing.access.rules import GRANTED_STATUSES, Access

pytestmark = pytest.mark.django_db


def test_api_session_is_401_without_a_session(client):
    response = client.get(reverse("api_session"))
    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated"}


def test_api_session_describes_the_user_and_their_access(client, user, subscribe):
    subscribe("pro_monthly")
    client.force_login(user)

    body = client.get(reverse("api_session")).json()

    assert body["user"] == {"id": user.pk, "email": user.email, "name": user.name}
    assert body["access"]["status"] == "active"
    assert body["access"]["plan"] == "pro"
    assert {"reports", "exports"} <= set(body["access"]["features"])
    assert body["access"]["valid_until"] is not None


def test_api_session_is_never_cached_by_browsers_or_proxies(client, user):
    client.force_login(user)
    response = client.get(reverse("api_session"))
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_api_session_says_expired_not_active_once_a_cancelled_period_ended(client, user, subscribe):
    subscribe("pro_monthly", cancel_at_period_end=True, period_end=int(time.time()) - 60)
    client.force_login(user)

    access = client.get(reverse("api_session")).json()["access"]

    assert access["status"] == "expired"
    assert access["stripe_status"] == "active"
    assert access["plan"] is None
    assert "reports" not in access["features"]


def test_api_session_access_is_the_access_codec_shape(client, user, subscribe):
    subscribe("pro_monthly", status="trialing", trial_end=int(time.time()) + 86400)
    client.force_login(user)

    body = client.get(reverse("api_session")).json()

    assert Access.from_json(body["access"]).as_json() == body["access"]
    assert body["access"]["status"] == "trialing"
    assert body["access"]["status"] in GRANTED_STATUSES

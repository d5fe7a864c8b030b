import pytest
from django.urls import reverse

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

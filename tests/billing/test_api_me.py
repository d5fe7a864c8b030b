"""End to end through allauth headless: sign in with a password, call /api/v1/me with
the access token, refresh, replay, sign out, and a webhook revoking on the next request."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from tests.accounts import headless
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(user, password) -> tuple[Client, dict[str, str]]:  # type: ignore[no-untyped-def]
    """A mobile app signed in headlessly: its client (no cookies used) and its tokens."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    tokens = headless.sign_in(client, email=user.email, password=password)
    return client, tokens


def test_sign_in_returns_an_access_and_a_refresh_token(app):
    _, tokens = app
    assert set(tokens) >= {"access_token", "refresh_token", "session_token"}


def test_me_answers_the_user_and_their_access(app, user, subscribe):
    subscribe("pro_monthly")
    _, tokens = app

    response = headless.me(Client(), tokens["access_token"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == {"id": user.pk, "email": user.email, "name": user.name}
    assert body["access"]["status"] == "active"
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )


def test_refresh_rotates_and_the_new_access_token_works(app):
    client, tokens = app

    response = headless.refresh(client, tokens["refresh_token"])

    assert response.status_code == 200, response.content
    fresh = response.json()["data"]
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert headless.me(Client(), fresh["access_token"]).status_code == 200


def test_replaying_a_rotated_refresh_token_ends_the_whole_family(app):
    client, tokens = app
    fresh = headless.refresh(client, tokens["refresh_token"]).json()["data"]

    replay = headless.refresh(client, tokens["refresh_token"])

    assert replay.status_code == 400
    # Every token of that sign-in is dead: the newest access and refresh token too.
    assert headless.me(Client(), fresh["access_token"]).status_code == 401
    assert headless.me(Client(), tokens["access_token"]).status_code == 401
    assert headless.refresh(client, fresh["refresh_token"]).status_code == 400


def test_sign_out_makes_the_access_token_inactive_on_the_next_request(app):
    client, tokens = app
    assert headless.me(Client(), tokens["access_token"]).status_code == 200  # near-cached

    assert (
        headless.sign_out(client, tokens["access_token"]).status_code == 401
    )  # allauth: signed out

    response = headless.me(Client(), tokens["access_token"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert headless.refresh(client, tokens["refresh_token"]).status_code == 400


def test_past_due_webhook_shows_no_access_on_the_next_request(
    app, subscribe, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")
    _, tokens = app
    assert headless.me(Client(), tokens["access_token"]).json()["access"]["status"] == "active"

    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    assert send_event("invoice.payment_failed", invoice).status_code == 200

    response = headless.me(Client(), tokens["access_token"])
    assert response.status_code == 200  # the token stays valid...
    assert response.json()["access"]["status"] == "past_due"  # ...its Access does not

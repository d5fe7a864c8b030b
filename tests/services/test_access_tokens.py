"""/oauth/introspect and /oauth/revoke for an API client's tokens (apps/accounts/tokens)."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from tests.accounts import headless
from tests.accounts import tokens_forge as forge
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(user, password) -> dict[str, str]:  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return headless.sign_in(Client(), email=user.email, password=password)


def test_an_access_token_introspects_as_api_v1_me_answers(tokens, user, subscribe, introspect):
    subscribe("pro_monthly")
    me = headless.me(Client(), tokens["access_token"]).json()

    body = introspect(tokens["access_token"], token_type_hint="access_token").json()

    assert body["active"] is True
    assert body["token_type"] == "access_token"
    assert body["sub"] == str(user.pk)
    assert body["exp"] == forge.claims_of(tokens["access_token"])["exp"]
    assert body["access"] == me["access"]


def test_every_access_token_of_a_sign_in_names_its_session(tokens, introspect):
    """`sid` is the digest of the session the tokens were issued on (what a session.ended
    event names), the same for the tokens a refresh mints: never the token's encrypted
    `sid` claim (a new ciphertext in every token), never the session key."""
    first = introspect(tokens["access_token"]).json()
    refreshed = headless.refresh(Client(), tokens["refresh_token"]).json()["data"]
    second = introspect(refreshed["access_token"]).json()

    assert len(first["sid"]) == 32
    assert first["sid"] == second["sid"]
    assert first["sid"] != forge.claims_of(tokens["access_token"])["sid"]


def test_introspection_sees_a_webhook_on_the_next_call(
    tokens, subscribe, fake_stripe, send_event, introspect
):
    sub = subscribe("pro_monthly")
    assert introspect(tokens["access_token"]).json()["access"]["status"] == "active"

    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    assert send_event("invoice.payment_failed", invoice).status_code == 200

    assert introspect(tokens["access_token"]).json()["access"]["status"] == "past_due"


def test_bad_access_tokens_and_refresh_tokens_introspect_as_inactive(tokens, introspect):
    for token in (forge.unsigned(tokens["access_token"]), tokens["refresh_token"]):
        assert introspect(token).json() == {"active": False}


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoking_either_token_ends_the_whole_sign_in(which, tokens, revoke, introspect):
    assert revoke(tokens[which], token_type_hint=which).status_code == 200

    assert headless.me(Client(), tokens["access_token"]).status_code == 401
    assert headless.refresh(Client(), tokens["refresh_token"]).status_code == 400
    assert introspect(tokens["access_token"]).json() == {"active": False}

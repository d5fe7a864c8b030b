"""Postgres unreachable (every SQL statement fails): webhooks answer 5xx so Stripe retries
and nothing is half-written; gated pages answer a friendly 503 and never grant.

These tests use `transactional_db`: there is no enclosing test transaction whose
savepoint rollbacks (SQL themselves) would fail during the simulated outage.
"""

import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from djstripe.models import Customer, Event, Subscription, WebhookEventTrigger

from apps.accounts.middleware import LAST_SEEN, idle_resolution
from apps.core.near_cache import near_cache
from tests.billing import stripe_builders as build
from tests.state_helpers import access_key

pytestmark = pytest.mark.usefixtures("transactional_db")

FRIENDLY = b"We'll be right back"


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (Event, WebhookEventTrigger, Subscription, Customer)
    )


def status_of(sub_id: str) -> str:
    return Subscription.objects.get(id=sub_id).stripe_data["status"]


def test_webhook_answers_5xx_with_nothing_written_and_the_retry_applies(
    webhook_url, subscribe, fake_stripe, postgres_down
):
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="canceled")
    event = build.event(fake_stripe, "customer.subscription.deleted", fake_stripe.get(sub["id"]))
    stripe = Client(raise_request_exception=False)
    before = counts()

    with postgres_down():
        response = build.post_webhook(
            stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
        )

    assert 500 <= response.status_code < 600
    assert b"Traceback" not in response.content
    assert counts() == before
    assert status_of(sub["id"]) == "active"

    retry = build.post_webhook(stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert retry.status_code == 200
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert status_of(sub["id"]) == "canceled"


@pytest.fixture
def paying_device(user, subscribe):  # type: ignore[no-untyped-def]
    """A signed-in subscriber whose session, identity and Access are warm in Redis."""
    subscribe("pro_monthly")
    device = Client(raise_request_exception=False)
    device.force_login(user)
    assert device.get(reverse("web:reports")).status_code == 200
    return device


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("text/html", FRIENDLY), ("application/json", b'"service_unavailable"')],
)
def test_gated_page_with_a_cold_access_cache_answers_503_and_never_grants(
    user, paying_device, redis, postgres_down, accept, expected
):
    redis.delete(access_key(user.pk))  # the Access must come from Postgres
    near_cache().fence()  # as any later request sees it

    with postgres_down():
        response = paying_device.get(reverse("web:reports"), headers={"Accept": accept})

    assert response.status_code == 503
    assert expected in response.content
    assert b"Traceback" not in response.content


def test_gated_page_with_a_warm_cache_serves_the_cached_decision_without_sql(
    paying_device, postgres_down
):
    """Documented behaviour: a warm, never-stale cache needs no SQL, so it still answers.

    The decision is the one the last webhook left; any revocation INCRs the generation
    first, so this can never be a stale grant.
    """
    with postgres_down():  # any query would fail this request
        response = paying_device.get(reverse("web:reports"))

    assert response.status_code == 200


def test_gated_page_for_a_session_due_an_idle_clock_write_answers_the_friendly_503(
    user, paying_device, redis, postgres_down
):
    session = paying_device.session
    session[LAST_SEEN] = int(time.time()) - idle_resolution() - 1  # the idle clock is due
    session.save()
    redis.delete(access_key(user.pk))
    near_cache().fence()

    with postgres_down():
        response = paying_device.get(reverse("web:reports"))

    assert response.status_code == 503
    assert FRIENDLY in response.content

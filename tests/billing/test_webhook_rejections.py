"""Deliveries the endpoint must refuse, and a handler failure that must leave no trace."""

import json
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from djstripe.models import Customer, Event, Subscription, WebhookEventTrigger

from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def row_counts() -> tuple[int, int, int]:
    return Event.objects.count(), Subscription.objects.count(), Customer.objects.count()


@pytest.fixture
def pending(subscribe, fake_stripe):  # type: ignore[no-untyped-def]
    """A synced active subscription that Stripe now reports canceled, and its event."""
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="canceled")
    event = build.event(fake_stripe, "customer.subscription.deleted", fake_stripe.get(sub["id"]))
    return sub, event


def stored_status(sub_id: str) -> str:
    return Subscription.objects.get(id=sub_id).stripe_data["status"]


def assert_refused_without_trace(response, before, sub_id: str) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500
    assert b"Traceback" not in response.content
    assert b'File "' not in response.content
    assert row_counts() == before
    assert stored_status(sub_id) == "active"


def test_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    client, webhook_url, pending, fake_stripe
):
    sub, event = pending
    before = row_counts()

    response = build.post_webhook(client, webhook_url, event, secret="whsec_someone_else")

    assert_refused_without_trace(response, before, sub["id"])
    assert response.status_code == 400
    assert not fake_stripe.calls_to("get", f"/v1/subscriptions/{sub['id']}")


def test_webhook_without_a_stripe_signature_header_is_refused(client, webhook_url, pending):
    sub, event = pending
    before = row_counts()

    response = build.post_webhook(
        client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET, headers={}
    )

    assert_refused_without_trace(response, before, sub["id"])
    assert response.status_code == 400


def test_webhook_signed_more_than_five_minutes_ago_is_refused(client, webhook_url, pending):
    sub, event = pending
    before = row_counts()

    response = build.post_webhook(
        client,
        webhook_url,
        event,
        secret=settings.STRIPE_WEBHOOK_SECRET,
        timestamp=int(time.time()) - 301,
    )

    assert_refused_without_trace(response, before, sub["id"])
    assert response.status_code == 400


def test_validly_signed_malformed_json_is_refused(client, webhook_url, pending):
    sub, event = pending
    before = row_counts()
    body = json.dumps(event)[:-7]  # truncated mid-object

    response = build.post_webhook(client, webhook_url, body, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert_refused_without_trace(response, before, sub["id"])
    assert response.status_code == 400


def test_webhook_to_an_unknown_endpoint_uuid_is_not_found(client, pending):
    sub, event = pending
    before = row_counts()
    url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": uuid.uuid4()})

    response = build.post_webhook(client, url, event, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert_refused_without_trace(response, before, sub["id"])
    assert response.status_code == 404


def test_handler_failure_answers_5xx_and_rolls_back_so_the_retry_applies(
    webhook_url, pending, fake_stripe, django_capture_on_commit_callbacks
):
    sub, event = pending
    before = row_counts()
    client = Client(raise_request_exception=False)
    fake_stripe.fail_status = 500  # the re-fetch of the subscription fails

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = build.post_webhook(
            client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
        )

    assert response.status_code >= 500
    assert b"Traceback" not in response.content
    assert row_counts() == before
    assert not Event.objects.filter(id=event["id"]).exists()
    assert stored_status(sub["id"]) == "active"
    assert callbacks == []  # no cache invalidation or mail for a rolled-back event
    trigger = WebhookEventTrigger.objects.latest("created")
    assert trigger.exception  # dj-stripe keeps the failed delivery for inspection

    fake_stripe.fail_status = None
    with django_capture_on_commit_callbacks(execute=True):
        retry = build.post_webhook(
            client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
        )

    assert retry.status_code == 200
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert stored_status(sub["id"]) == "canceled"

"""Webhooks as Stripe really delivers them: out of order, twice at once, and requests
Stripe never sends (wrong content type, oversized body, wrong method)."""

import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from djstripe.models import Customer, Event, Subscription, WebhookEventTrigger

from apps.billing.access.resolver import access_for_user
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def status_of(sub_id: str) -> str:
    return Subscription.objects.get(id=sub_id).stripe_data["status"]


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (Event, WebhookEventTrigger, Subscription, Customer)
    )


# --- Out of order ----------------------------------------------------------------------


def test_stale_updated_after_deleted_does_not_bring_access_back(
    user, subscribe, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")  # the payload of the stale event: status active
    fake_stripe.update(sub["id"], status="canceled")

    assert (
        send_event("customer.subscription.deleted", fake_stripe.get(sub["id"])).status_code == 200
    )
    assert send_event("customer.subscription.updated", sub).status_code == 200

    assert sub["status"] == "active"
    assert status_of(sub["id"]) == "canceled"
    assert not access_for_user(user).has("reports")


def test_updated_before_created_ends_in_stripes_current_state(
    user, stripe_customer, catalog, fake_stripe, send_event
):
    created = build.subscription(
        fake_stripe,
        customer_id=stripe_customer["id"],
        price_ids=[catalog["pro_monthly"]],
        status="incomplete",
    )
    updated = fake_stripe.update(created["id"], status="active")

    assert send_event("customer.subscription.updated", updated).status_code == 200
    assert send_event("customer.subscription.created", created).status_code == 200

    assert status_of(created["id"]) == "active"
    assert access_for_user(user).has("reports")


# --- The same event twice at once -----------------------------------------------------


@pytest.mark.usefixtures("transactional_db")
def test_same_event_delivered_concurrently_is_stored_once_and_both_answer_2xx(
    user, subscribe, fake_stripe, webhook_url
):
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="past_due")
    event = build.event(fake_stripe, "customer.subscription.updated", fake_stripe.get(sub["id"]))
    body = json.dumps(event)
    signature = build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            stripe = Client(raise_request_exception=False)
            start.wait(timeout=10)
            response = stripe.post(
                webhook_url,
                body,
                content_type="application/json",
                headers={"Stripe-Signature": signature},
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200, 200]
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert status_of(sub["id"]) == "past_due"
    assert not access_for_user(user).has("reports")


# --- Requests Stripe never sends --------------------------------------------------------


@pytest.fixture
def signed_event(subscribe, fake_stripe):  # type: ignore[no-untyped-def]
    """The deletion event of an active subscription (Stripe now says canceled): (sub id, event)."""
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="canceled")
    event = build.event(fake_stripe, "customer.subscription.deleted", fake_stripe.get(sub["id"]))
    return sub["id"], event


def oversized(event: dict) -> str:  # type: ignore[type-arg]
    padding = "x" * (settings.BILLING_WEBHOOK_MAX_BYTES + 1)
    return json.dumps({**event, "padding": padding})


@pytest.mark.parametrize(
    ("method", "content_type", "size", "expected"),
    [
        ("post", "text/plain", "normal", 415),
        ("post", "application/json", "oversized", 413),
        ("get", None, "normal", 405),
    ],
)
def test_request_stripe_never_sends_is_refused_before_anything_is_stored(
    client, webhook_url, signed_event, fake_stripe, method, content_type, size, expected
):
    sub_id, event = signed_event
    body = oversized(event) if size == "oversized" else json.dumps(event)
    headers = {"Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET)}
    before, api_calls = counts(), len(fake_stripe.calls)

    if method == "get":
        response = client.get(webhook_url, headers=headers)
    else:
        response = client.post(webhook_url, body, content_type=content_type, headers=headers)

    assert response.status_code == expected
    assert b"Traceback" not in response.content
    assert b'File "' not in response.content
    assert counts() == before
    assert status_of(sub_id) == "active"
    assert len(fake_stripe.calls) == api_calls

"""Two Checkouts that both completed: the newer subscription is canceled and refunded."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from djstripe.models import Subscription

from apps.billing.access.resolver import access_for_user
from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import fixture

pytestmark = pytest.mark.django_db


def paid_invoice(fake_stripe, sub_id: str, payment_intent: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    invoice = build.invoice(fake_stripe, subscription_id=sub_id, status="paid")
    fake_stripe.put(
        {
            "id": fake_stripe.new_id("inpay"),
            "object": "invoice_payment",
            "invoice": invoice["id"],
            "status": "paid",
            "amount_paid": invoice["amount_due"],
            "payment": {"type": "payment_intent", "payment_intent": payment_intent},
            "created": invoice["created"],
            "livemode": False,
        }
    )
    return invoice


def completed_checkout(fake_stripe, user, sub: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    session = fixture("checkout_session")
    session.update(
        id=fake_stripe.new_id("cs_test"),
        customer=sub["customer"],
        client_reference_id=str(user.pk),
        status="complete",
        payment_status="paid",
        subscription=sub["id"],
    )
    return fake_stripe.put(session)


@pytest.fixture
def two_tabs(user, subscribe, stripe_customer, catalog, fake_stripe):  # type: ignore[no-untyped-def]
    """The first tab's subscription (synced) and the second tab's, newer, both paid."""
    older = subscribe("pro_monthly")
    paid_invoice(fake_stripe, older["id"], "pi_first_tab")
    newer = build.subscription(
        fake_stripe,
        customer_id=stripe_customer["id"],
        price_ids=[catalog["pro_monthly"]],
        created=older["created"] + 5,
    )
    paid_invoice(fake_stripe, newer["id"], "pi_second_tab")
    return older, newer


def status_of(sub_id: str) -> str:
    return Subscription.objects.get(id=sub_id).stripe_data["status"]


def test_duplicate_checkout_cancels_and_refunds_the_newer_subscription(
    user, two_tabs, fake_stripe, send_event
):
    older, newer = two_tabs

    response = send_event(
        "checkout.session.completed", completed_checkout(fake_stripe, user, newer)
    )

    assert response.status_code == 200
    [cancel] = fake_stripe.calls_to("delete", f"/v1/subscriptions/{newer['id']}")
    assert cancel.idempotency_key == f"tollgate-duplicate-cancel-{newer['id']}"
    [refund] = fake_stripe.calls_to("post", "/v1/refunds")
    assert refund.form["payment_intent"] == "pi_second_tab"
    assert refund.form["reason"] == "duplicate"
    assert refund.idempotency_key == "tollgate-duplicate-refund-pi_second_tab"
    assert not fake_stripe.calls_to("delete", f"/v1/subscriptions/{older['id']}")
    assert status_of(newer["id"]) == "canceled"
    assert status_of(older["id"]) == "active"
    assert access_for_user(user).has("reports")


def test_duplicate_cancel_retried_after_a_failed_refund_reuses_its_idempotency_keys(
    user, two_tabs, fake_stripe, webhook_url, django_capture_on_commit_callbacks
):
    _, newer = two_tabs
    event = build.event(
        fake_stripe, "checkout.session.completed", completed_checkout(fake_stripe, user, newer)
    )
    stripe = Client(raise_request_exception=False)
    fake_stripe.failing_ids.add("refunds")  # the refund fails: the delivery answers 5xx

    first = build.post_webhook(stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET)
    assert first.status_code >= 500
    fake_stripe.failing_ids.clear()
    with django_capture_on_commit_callbacks(execute=True):
        retry = build.post_webhook(
            stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
        )

    assert retry.status_code == 200
    cancels = fake_stripe.calls_to("delete", f"/v1/subscriptions/{newer['id']}")
    assert {c.idempotency_key for c in cancels} == {f"tollgate-duplicate-cancel-{newer['id']}"}
    refunds = fake_stripe.calls_to("post", "/v1/refunds")
    assert {r.idempotency_key for r in refunds} == {"tollgate-duplicate-refund-pi_second_tab"}
    assert status_of(newer["id"]) == "canceled"


def test_checkout_for_a_different_product_cancels_nothing(
    user, subscribe, stripe_customer, catalog, fake_stripe, send_event
):
    subscribe("pro_monthly")
    team = build.subscription(
        fake_stripe, customer_id=stripe_customer["id"], price_ids=[catalog["team_monthly"]]
    )

    response = send_event("checkout.session.completed", completed_checkout(fake_stripe, user, team))

    assert response.status_code == 200
    assert not fake_stripe.calls_to("delete", "/v1/subscriptions/")
    assert not fake_stripe.calls_to("post", "/v1/refunds")

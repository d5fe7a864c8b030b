"""Every handled event type, end to end through dj-stripe's real endpoint."""

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Customer, Event, Invoice, Session, Subscription

from apps.billing.access.resolver import access_for_user
from tests import state_helpers
from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import fixture

pytestmark = pytest.mark.django_db


def cached_access(user):  # type: ignore[no-untyped-def]
    return state_helpers.cached_access(user.pk)


@pytest.fixture
def warm(user):  # type: ignore[no-untyped-def]
    """Cache the user's current Access and return its generation."""

    def run() -> int:
        access_for_user(user)
        access, generation = cached_access(user)
        assert access is not None
        return generation

    return run


def assert_invalidated(user, generation_before: int) -> None:  # type: ignore[no-untyped-def]
    access, generation = cached_access(user)
    assert access is None
    assert generation > generation_before


def stored_status(sub_id: str) -> str:
    return Subscription.objects.get(id=sub_id).stripe_data["status"]


def subscription_gets(fake_stripe, sub_id: str) -> int:  # type: ignore[no-untyped-def]
    return len(fake_stripe.calls_to("get", f"/v1/subscriptions/{sub_id}"))


def test_checkout_completed_stores_session_and_subscription_and_invalidates_access(
    user, stripe_customer, catalog, fake_stripe, send_event, warm
):
    sub = build.subscription(
        fake_stripe, customer_id=stripe_customer["id"], price_ids=[catalog["pro_monthly"]]
    )
    session = fixture("checkout_session")
    session.update(
        id=fake_stripe.new_id("cs_test"),
        customer=stripe_customer["id"],
        client_reference_id=str(user.pk),
        status="complete",
        payment_status="paid",
        subscription=sub["id"],
    )
    fake_stripe.put(session)
    generation = warm()

    response = send_event("checkout.session.completed", session)

    assert response.status_code == 200
    assert Session.objects.get(id=session["id"]).subscription_id == sub["id"]
    assert stored_status(sub["id"]) == "active"
    assert Event.objects.filter(type="checkout.session.completed").count() == 1
    assert_invalidated(user, generation)
    assert access_for_user(user).has("reports")


def test_subscription_created_webhook_stores_the_subscription_and_grants_access(
    user, stripe_customer, catalog, fake_stripe, send_event, warm
):
    sub = build.subscription(
        fake_stripe, customer_id=stripe_customer["id"], price_ids=[catalog["team_monthly"]]
    )
    generation = warm()
    assert not access_for_user(user).has("team_space")

    response = send_event("customer.subscription.created", sub)

    assert response.status_code == 200
    assert Subscription.objects.get(id=sub["id"]).customer_id == stripe_customer["id"]
    assert_invalidated(user, generation)
    assert access_for_user(user).has("team_space")


@pytest.mark.parametrize(
    ("event_type", "start", "now"),
    [
        ("customer.subscription.updated", "active", "past_due"),
        ("customer.subscription.deleted", "active", "canceled"),
        ("customer.subscription.paused", "active", "paused"),
        ("customer.subscription.resumed", "paused", "active"),
    ],
)
def test_subscription_webhook_stores_stripes_current_state_not_the_payload(
    user, subscribe, fake_stripe, send_event, warm, event_type, start, now
):
    sub = subscribe("pro_monthly", status=start)
    generation = warm()
    fake_stripe.update(sub["id"], status=now)

    # The payload still says `start`: dj-stripe re-reads the object from the API.
    response = send_event(event_type, sub)

    assert response.status_code == 200
    assert stored_status(sub["id"]) == now
    assert subscription_gets(fake_stripe, sub["id"]) == 1
    assert Event.objects.filter(type=event_type).count() == 1
    assert_invalidated(user, generation)
    assert access_for_user(user).has("reports") is (now == "active")


def test_trial_will_end_mails_the_user_only_after_commit(
    client, user, subscribe, fake_stripe, webhook_url, warm, django_capture_on_commit_callbacks
):
    trial_end = int(timezone.now().timestamp()) + 3 * build.DAY
    sub = subscribe("pro_monthly", status="trialing", trial_end=trial_end)
    generation = warm()
    event = build.event(fake_stripe, "customer.subscription.trial_will_end", sub)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = build.post_webhook(
            client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
        )
    assert response.status_code == 200
    assert mail.outbox == []
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Your trial ends soon"
    assert "http://testserver/account/billing/" in message.body  # a page that exists
    assert "trial ends on" in message.body
    assert stored_status(sub["id"]) == "trialing"
    assert_invalidated(user, generation)


@pytest.mark.parametrize(
    ("event_type", "invoice_status", "start", "now"),
    [
        ("invoice.paid", "paid", "past_due", "active"),
        ("invoice.payment_failed", "open", "active", "past_due"),
        ("invoice.payment_action_required", "open", "active", "incomplete"),
    ],
)
def test_invoice_webhook_stores_the_invoice_and_refreshes_its_subscription(
    user, subscribe, fake_stripe, send_event, warm, event_type, invoice_status, start, now
):
    sub = subscribe("pro_monthly", status=start)
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status=invoice_status)
    fake_stripe.update(sub["id"], status=now)
    generation = warm()

    response = send_event(event_type, invoice)

    assert response.status_code == 200
    stored = Invoice.objects.get(id=invoice["id"])
    assert stored.customer_id == sub["customer"]
    assert stored.stripe_data["status"] == invoice_status
    assert stored_status(sub["id"]) == now
    assert subscription_gets(fake_stripe, sub["id"]) >= 1
    assert_invalidated(user, generation)
    assert access_for_user(user).has("reports") is (now == "active")


def test_customer_deleted_purges_the_customer_and_revokes_access(
    user, stripe_customer, subscribe, fake_stripe, send_event, warm
):
    subscribe("pro_monthly")
    generation = warm()
    assert access_for_user(user).has("reports")

    response = send_event("customer.deleted", stripe_customer)

    assert response.status_code == 200
    customer = Customer.objects.get(id=stripe_customer["id"])
    assert customer.date_purged is not None
    assert customer.subscriber is None
    assert_invalidated(user, generation)
    assert not access_for_user(user).has("reports")


def test_entitlement_summary_update_resyncs_the_customer_and_invalidates_access(
    user, stripe_customer, fake_stripe, send_event, warm
):
    fake_stripe.update(stripe_customer["id"], email="renamed@example.com")
    summary: dict[str, Any] = {
        "object": "entitlements.active_entitlement_summary",
        "customer": stripe_customer["id"],
        "entitlements": {"object": "list", "data": [], "has_more": False, "url": "/v1/x"},
        "livemode": False,
    }
    generation = warm()

    response = send_event("entitlements.active_entitlement_summary.updated", summary)

    assert response.status_code == 200
    assert fake_stripe.calls_to("get", f"/v1/customers/{stripe_customer['id']}")
    assert Customer.objects.get(id=stripe_customer["id"]).email == "renamed@example.com"
    assert Event.objects.filter(type="entitlements.active_entitlement_summary.updated").exists()
    assert_invalidated(user, generation)


def test_same_event_delivered_twice_has_one_effect_and_both_answer_200(
    client, user, subscribe, fake_stripe, webhook_url, warm, django_capture_on_commit_callbacks
):
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="past_due")
    event = build.event(fake_stripe, "customer.subscription.updated", sub)
    generation = warm()

    responses, generations = [], []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            responses.append(
                build.post_webhook(
                    client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET
                )
            )
        generations.append(cached_access(user)[1])

    assert [r.status_code for r in responses] == [200, 200]
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert subscription_gets(fake_stripe, sub["id"]) == 1  # handlers ran once
    assert stored_status(sub["id"]) == "past_due"
    # The duplicate still invalidates: Stripe's retry is what repairs a failed invalidation.
    assert generation < generations[0] < generations[1]


def test_subscription_deleted_signs_the_user_out_when_configured(
    user, password, subscribe, fake_stripe, send_event, settings
):
    settings.BILLING_END_SESSIONS_ON_CANCEL = True
    sub = subscribe("pro_monthly")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    browser = Client()
    login = {"login": user.email, "password": password}
    assert browser.post(reverse("account_login"), login).status_code == 302
    dashboard = reverse("web:dashboard")
    assert browser.get(dashboard).status_code == 200
    fake_stripe.update(sub["id"], status="canceled")

    assert send_event("customer.subscription.deleted", sub).status_code == 200

    assert browser.get(dashboard).status_code == 302


def test_invoice_event_for_a_subscription_stripe_no_longer_has_is_recorded_and_answers_200(
    user, subscribe, fake_stripe, send_event, warm, caplog
):
    sub = subscribe("pro_monthly")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="paid")
    del fake_stripe.objects[sub["id"]]  # Stripe answers 404 resource_missing from now on
    generation = warm()
    assert access_for_user(user).has("reports")

    response = send_event("invoice.paid", invoice)

    assert response.status_code == 200
    missing = [r for r in caplog.records if sub["id"] in r.getMessage()]
    assert missing
    assert all("reach" not in r.getMessage() for r in caplog.records)
    # Stripe's 404 is a final answer: the subscription grants nothing any more.
    assert stored_status(sub["id"]) == "canceled"
    assert_invalidated(user, generation)
    assert not access_for_user(user).has("reports")

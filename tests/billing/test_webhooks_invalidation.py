"""One invalidation per delivery (duplicates included), and the registered event list
is exactly what the receivers handle."""

from typing import Any

import pytest
from django.conf import settings

from apps.billing import services, webhooks
from apps.core.state import invalidation
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def invalidations(monkeypatch) -> list[frozenset[int]]:  # type: ignore[no-untyped-def]
    """Every invalidation that reaches Redis (each one INCRs and fences)."""
    calls: list[frozenset[int]] = []
    real = invalidation.invalidate

    def counting(subjects: Any) -> None:
        subjects = list(subjects)
        calls.append(frozenset(int(subject.id) for subject in subjects))
        real(subjects)

    monkeypatch.setattr(invalidation, "invalidate", counting)
    return calls


def deliver(client, url, event, capture):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return build.post_webhook(client, url, event, secret=settings.STRIPE_WEBHOOK_SECRET)


@pytest.mark.parametrize(
    "event_type",
    [
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
    ],
)
def test_each_delivery_invalidates_once_and_a_duplicate_once_more(
    client,
    user,
    subscribe,
    fake_stripe,
    webhook_url,
    invalidations,
    django_capture_on_commit_callbacks,
    event_type,
):
    sub = subscribe("pro_monthly")
    obj = sub
    if event_type.startswith("invoice."):
        obj = build.invoice(fake_stripe, subscription_id=sub["id"], status="paid")
    event = build.event(fake_stripe, event_type, obj)

    first = deliver(client, webhook_url, event, django_capture_on_commit_callbacks)
    assert first.status_code == 200
    assert invalidations == [frozenset({user.pk})]

    # Stripe redelivers when it missed our 200. The duplicate skips the handlers but
    # still invalidates: if the first delivery's invalidation had failed (and answered
    # 5xx), this retry is what repairs the cache.
    again = deliver(client, webhook_url, event, django_capture_on_commit_callbacks)
    assert again.status_code == 200
    assert invalidations == [frozenset({user.pk})] * 2


def test_registered_events_are_exactly_the_handled_ones():
    assert set(services.WEBHOOK_EVENTS) == set(webhooks.HANDLERS)
    assert {"product.updated", "product.deleted", "price.updated", "price.deleted"} <= set(
        webhooks.HANDLERS
    )

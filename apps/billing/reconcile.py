"""Repairing missed webhooks: re-sync customers from Stripe, replay undelivered events."""

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from djstripe.models import Customer, Event

from . import stripe_api
from .services import access_invalidate, subscription_sync

Progress = Callable[[str], None]


def customers_reconcile(*, customer_id: str | None = None, progress: Progress) -> int:
    """Re-read every linked customer's subscriptions from Stripe and drop their Access.

    Each customer is its own transaction, so one failure does not undo the others.
    Returns the number of customers reconciled.
    """
    customers = Customer.objects.filter(
        subscriber__isnull=False, livemode=settings.STRIPE_LIVE_MODE, date_purged__isnull=True
    ).order_by("djstripe_id")
    if customer_id:
        customers = customers.filter(id=customer_id)
    total = customers.count()
    for index, customer in enumerate(customers.iterator(), start=1):
        with transaction.atomic():
            synced = [
                subscription_sync(data=data)
                for data in stripe_api.subscriptions_list(customer_id=customer.id)
            ]
            access_invalidate(user_ids=[customer.subscriber_id])
        progress(f"[{index}/{total}] {customer.id}: {len(synced)} subscription(s)")
    return total


def events_replay(*, since: datetime, progress: Progress) -> tuple[int, int]:
    """Process events Stripe could not deliver since `since` (Stripe keeps 30 days).

    Goes through dj-stripe's own Event.process, so handlers and our receivers run as
    for a webhook, and an event already processed is skipped. Returns (replayed, skipped).
    """
    replayed = skipped = 0
    key = stripe_api.api_key()
    for data in stripe_api.undelivered_events(since=since):
        if Event.objects.filter(id=data["id"]).exists():
            skipped += 1
            continue
        with stripe_api.translated_errors("replay an event"), transaction.atomic():
            Event.process(data=data, api_key=key)
        replayed += 1
        progress(f"replayed {data['id']} {data['type']}")
    return replayed, skipped

"""Repairing missed webhooks: re-sync customers from Stripe, replay undelivered events."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from djstripe.models import Customer, Event

from . import stripe_api, webhooks
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


@dataclass
class Replay:
    replayed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)  # event ids


def events_replay(*, since: datetime, progress: Progress) -> Replay:
    """Process events Stripe could not deliver since `since` (Stripe keeps 30 days).

    Goes through dj-stripe's own Event.process, so handlers and our receivers run as
    for a webhook, and an event already processed is skipped. Each event is its own
    transaction: one that fails is rolled back, reported, and the rest still replay.
    """
    result = Replay()
    key = stripe_api.api_key()
    for data in stripe_api.undelivered_events(since=since):
        if Event.objects.filter(id=data["id"]).exists():
            result.skipped += 1
            continue
        try:
            with stripe_api.translated_errors("replay an event"), transaction.atomic():
                event = Event.process(data=data, api_key=key)
                # Event.process sends no webhook_post_process: invalidate as a delivery does.
                access_invalidate(user_ids=webhooks.affected_user_ids(event))
        except Exception as exc:  # whatever failed, report it and replay the rest
            result.failed.append(data["id"])
            progress(f"failed {data['id']} {data['type']}: {exc}")
            continue
        result.replayed += 1
        progress(f"replayed {data['id']} {data['type']}")
    return result

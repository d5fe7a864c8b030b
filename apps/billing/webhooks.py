"""Our receivers for Stripe webhooks, run by dj-stripe after it verified and synced.

dj-stripe owns the endpoint, the signature check and the re-fetch of each object
from the API (so event order never matters: rows always hold Stripe's current
state). These receivers run inside dj-stripe's transaction: anything they raise
rolls the event back and answers 5xx, so Stripe retries. Side effects (cache
invalidation, mail, ending sessions) run only after commit.
"""

import logging
from typing import Any

from djstripe.models import Event
from djstripe.signals import WEBHOOK_SIGNALS, webhook_post_process

from . import selectors, services, stripe_data

logger = logging.getLogger(__name__)


def _object(event: Event) -> dict[str, Any]:
    return dict(event.data.get("object") or {})


def user_ids_for_event(event: Event) -> set[int]:
    """The users whose access this event can change (looked up locally, no API call)."""
    obj = _object(event)
    is_customer = obj.get("object") == "customer"
    customer_id = obj.get("id") if is_customer else obj.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    user_ids = selectors.user_ids_for_customer(customer_id) if customer_id else set()
    # A deleted customer is already unlinked; the subscriber id is in its metadata.
    subscriber = (obj.get("metadata") or {}).get("djstripe_subscriber") if is_customer else None
    if subscriber and str(subscriber).isdigit():
        user_ids.add(int(subscriber))
    return user_ids


def on_any_event(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Every delivery, duplicates included, invalidates the affected users' Access.

    A duplicate skips dj-stripe's handlers, but if the first delivery's invalidation
    failed (and answered 5xx), Stripe's retry is what repairs the cache.
    """
    event = getattr(instance, "event", None) or None
    if event is None:
        return
    services.access_invalidate(user_ids=user_ids_for_event(event))


def on_subscription_changed(sender: Any, event: Event, **kwargs: Any) -> None:
    services.access_invalidate(user_ids=user_ids_for_event(event))


def on_subscription_ended(sender: Any, event: Event, **kwargs: Any) -> None:
    user_ids = user_ids_for_event(event)
    services.access_invalidate(user_ids=user_ids)
    services.sessions_end_on_cancel(user_ids=user_ids)


def on_trial_will_end(sender: Any, event: Event, **kwargs: Any) -> None:
    obj = _object(event)
    services.trial_ending_notify(
        user_ids=user_ids_for_event(event), trial_end=stripe_data.timestamp(obj.get("trial_end"))
    )


def on_invoice_event(sender: Any, event: Event, **kwargs: Any) -> None:
    """A paid or failed invoice changes its subscription's status: re-read it now.

    The matching customer.subscription.updated event may come later or never first,
    and access must change with this event.
    """
    subscription_id = stripe_data.invoice_subscription_id(_object(event))
    if subscription_id:
        services.subscription_refresh(subscription_id=subscription_id)
    services.access_invalidate(user_ids=user_ids_for_event(event))


def on_customer_event(sender: Any, event: Event, **kwargs: Any) -> None:
    services.access_invalidate(user_ids=user_ids_for_event(event))


HANDLERS = {
    "checkout.session.completed": on_subscription_changed,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_ended,
    "customer.subscription.paused": on_subscription_changed,
    "customer.subscription.resumed": on_subscription_changed,
    "customer.subscription.trial_will_end": on_trial_will_end,
    "invoice.paid": on_invoice_event,
    "invoice.payment_failed": on_invoice_event,
    "invoice.payment_action_required": on_invoice_event,
    "customer.deleted": on_customer_event,
    "entitlements.active_entitlement_summary.updated": on_customer_event,
}


def connect() -> None:
    for event_type, handler in HANDLERS.items():
        WEBHOOK_SIGNALS[event_type].connect(handler, dispatch_uid=f"tollgate:{event_type}")
    webhook_post_process.connect(on_any_event, dispatch_uid="tollgate:any-event")

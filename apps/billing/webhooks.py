"""Our receivers for Stripe webhooks, run by dj-stripe after it verified and synced.

dj-stripe owns the endpoint and the re-fetch of each object from the API (so event
order never matters: rows always hold Stripe's current state); the guard in
webhook_guard.py checks the signature first. These receivers run inside dj-stripe's
transaction: anything they raise rolls the event back and answers 5xx, so Stripe
retries. Side effects (cache invalidation, mail, ending sessions) run only after commit.

Invalidation happens once per delivery, in `on_any_event`, for the users
`affected_user_ids` names; the per-type handlers in HANDLERS only add what an event
type needs beyond dj-stripe's sync.
"""

import logging
from collections.abc import Callable
from typing import Any

from djstripe.models import Event
from djstripe.signals import WEBHOOK_SIGNALS, webhook_post_process

from . import duplicates, selectors, stripe_api, stripe_data

logger = logging.getLogger(__name__)

Handler = Callable[..., None]


def _object(event: Event) -> dict[str, Any]:
    return dict(event.data.get("object") or {})


def affected_user_ids(event: Event) -> set[int]:
    """The users whose access this event can change (looked up locally, no API call)."""
    obj = _object(event)
    kind = obj.get("object")
    if kind == "product":
        return selectors.user_ids_subscribed_to(product_id=str(obj.get("id")))
    if kind == "price":
        return selectors.user_ids_subscribed_to(price_id=str(obj.get("id")))
    is_customer = kind == "customer"
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
    """Every delivery, duplicates included, invalidates the affected users' Access once.

    dj-stripe skips its handlers (and ours) for an event it already stored, but a
    duplicate delivery still invalidates: Stripe redelivers when it did not get our
    2xx, and if the first delivery's invalidation failed (answering 5xx) this retry is
    what repairs the cache. An extra invalidation only costs one recomputation.
    """
    event = getattr(instance, "event", None) or None
    if event is None:
        return
    services.access_invalidate(user_ids=affected_user_ids(event))


def on_checkout_completed(sender: Any, event: Event, **kwargs: Any) -> None:
    """Two Checkouts finished for the same product: cancel and refund the newer one."""
    customer_id = _object(event).get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    if customer_id:
        duplicates.subscription_duplicates_cancel(customer_id=str(customer_id))


def on_subscription_ended(sender: Any, event: Event, **kwargs: Any) -> None:
    services.sessions_end_on_cancel(user_ids=affected_user_ids(event))


def on_trial_will_end(sender: Any, event: Event, **kwargs: Any) -> None:
    obj = _object(event)
    services.trial_ending_notify(
        user_ids=affected_user_ids(event), trial_end=stripe_data.timestamp(obj.get("trial_end"))
    )


def on_invoice_event(sender: Any, event: Event, **kwargs: Any) -> None:
    """A paid or failed invoice changes its subscription's status: re-read it now.

    The matching customer.subscription.updated event may come later or never first,
    and access must change with this event. A subscription Stripe no longer has (404)
    is a final answer, not an outage: it is recorded and the event succeeds.
    """
    subscription_id = stripe_data.invoice_subscription_id(_object(event))
    if not subscription_id:
        return
    try:
        services.subscription_refresh(subscription_id=subscription_id)
    except stripe_api.StripeObjectMissingError:
        logger.warning(
            "Event %s (%s): subscription %s no longer exists in Stripe; marked ended",
            event.id,
            event.type,
            subscription_id,
        )
        services.subscription_mark_missing(subscription_id=subscription_id)


# Every event the endpoint registered in Stripe receives (services.WEBHOOK_EVENTS is
# derived from this table). None: dj-stripe's sync plus the invalidation is all it needs.
HANDLERS: dict[str, Handler | None] = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": None,
    "customer.subscription.updated": None,
    "customer.subscription.deleted": on_subscription_ended,
    "customer.subscription.paused": None,
    "customer.subscription.resumed": None,
    "customer.subscription.trial_will_end": on_trial_will_end,
    "invoice.paid": on_invoice_event,
    "invoice.payment_failed": on_invoice_event,
    "invoice.payment_action_required": on_invoice_event,
    "customer.deleted": None,
    "entitlements.active_entitlement_summary.updated": None,
    # The catalog: the pricing page follows, and a product's features (or a price's
    # product) changing reaches its subscribers at once.
    "product.created": None,
    "product.updated": None,
    "product.deleted": None,
    "price.created": None,
    "price.updated": None,
    "price.deleted": None,
}


def connect() -> None:
    for event_type, handler in HANDLERS.items():
        if handler is not None:
            WEBHOOK_SIGNALS[event_type].connect(handler, dispatch_uid=f"tollgate:{event_type}")
    webhook_post_process.connect(on_any_event, dispatch_uid="tollgate:any-event")


# Last: services.py derives WEBHOOK_EVENTS from HANDLERS above, whichever is imported first.
from . import services  # noqa: E402

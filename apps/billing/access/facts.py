"""From dj-stripe rows to the facts the access rule needs (Postgres only)."""

from datetime import datetime

from djstripe.models import Invoice, Subscription, SubscriptionItem

from .. import stripe_data
from ..selectors import subscriptions_for_user
from .rules import ItemFacts, SubscriptionFacts, plan_key


def _item_facts(item: SubscriptionItem, subscription: Subscription) -> ItemFacts:
    price = item.price
    product = price.product
    period_end = stripe_data.item_period_end(item.stripe_data, subscription.stripe_data)
    # A scheduled cancellation ends access at `cancel_at` even inside a paid period.
    cancel_at = stripe_data.timestamp(subscription.stripe_data.get("cancel_at"))
    return ItemFacts(
        plan=plan_key(product_id=product.id, metadata=product.metadata),
        features=frozenset(f.entitlement_feature.lookup_key for f in product.features.all()),
        period_end=stripe_data.earliest([period_end, cancel_at]),
    )


def _past_due_since(subscription: Subscription) -> datetime | None:
    """When the unpaid invoice behind a past_due subscription was first attempted."""
    invoice_id = subscription.stripe_data.get("latest_invoice")
    if isinstance(invoice_id, dict):
        invoice_id = invoice_id.get("id")
    invoice = Invoice.objects.filter(id=invoice_id).first() if invoice_id else None
    if invoice is None:
        return None  # unknown: no grace rather than a guessed one
    transitions = invoice.stripe_data.get("status_transitions") or {}
    return stripe_data.timestamp(
        transitions.get("finalized_at") or invoice.stripe_data.get("created")
    )


def subscription_facts(subscription: Subscription) -> SubscriptionFacts:
    data = subscription.stripe_data
    status = data.get("status", "")
    return SubscriptionFacts(
        id=subscription.id,
        status=status,
        cancel_at_period_end=bool(data.get("cancel_at_period_end") or data.get("cancel_at")),
        items=tuple(_item_facts(item, subscription) for item in subscription.items.all()),
        created=stripe_data.timestamp(data.get("created")),
        past_due_since=_past_due_since(subscription) if status == "past_due" else None,
        trial_end=stripe_data.timestamp(data.get("trial_end")),
    )


def facts_for_user(user_id: int) -> list[SubscriptionFacts]:
    """Every subscription of the user's customer, newest first."""
    return [subscription_facts(sub) for sub in subscriptions_for_user(user_id)]

"""Undoing a duplicate subscription: two Checkouts for one product that both completed.

Checkout reuses one open session per customer (see checkout.py), but a session opened
before that, or a race Stripe resolved both ways, can still end in two paid
subscriptions to the same product. The older one stays; each newer one is canceled at
once and its latest invoice's payments are refunded in full (no proration credit on top:
the refund already returns everything).
"""

import logging

from djstripe.models import Subscription

from . import stripe_api, stripe_data

logger = logging.getLogger(__name__)

# A subscription in one of these holds its product; a newer one for it is a duplicate.
HOLDING_STATUSES = ("active", "trialing", "past_due")


def _product_ids(subscription: Subscription) -> set[str]:
    products = set()
    for item in stripe_data.subscription_items(subscription.stripe_data):
        product = (item.get("price") or {}).get("product")
        products.add(product.get("id") if isinstance(product, dict) else product)
    return {product for product in products if product}


def subscription_duplicates_cancel(*, customer_id: str) -> list[str]:
    """Cancel and refund this customer's newer subscriptions that repeat a held product.

    Idempotent: fixed idempotency keys per subscription and payment, so a webhook retried
    after a partial failure repeats nothing at Stripe. Returns the canceled ids.
    """
    subscriptions = Subscription.objects.filter(
        customer_id=customer_id, stripe_data__status__in=HOLDING_STATUSES
    ).order_by("created", "id")
    held: set[str] = set()
    canceled = []
    for subscription in subscriptions:
        products = _product_ids(subscription)
        if products & held:
            _cancel_and_refund(subscription)
            canceled.append(subscription.id)
        else:
            held |= products
    return canceled


def _cancel_and_refund(subscription: Subscription) -> None:
    logger.warning(
        "Customer %s has a duplicate subscription %s; canceling and refunding it",
        subscription.customer_id,
        subscription.id,
    )
    data = stripe_api.subscription_cancel(
        subscription.id, idempotency_key=f"tollgate-duplicate-cancel-{subscription.id}"
    )
    invoice_id = data.get("latest_invoice") or subscription.stripe_data.get("latest_invoice")
    if isinstance(invoice_id, dict):
        invoice_id = invoice_id.get("id")
    for payment in stripe_api.invoice_payments_paid(invoice_id=invoice_id) if invoice_id else ():
        intent = (payment.get("payment") or {}).get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        if intent:
            stripe_api.refund_create(
                payment_intent=intent,
                reason="duplicate",
                metadata={"tollgate_duplicate_subscription": subscription.id},
                idempotency_key=f"tollgate-duplicate-refund-{intent}",
            )
    with stripe_api.translated_errors("sync the canceled subscription"):
        Subscription.sync_from_stripe_data(data, api_key=stripe_api.api_key())

"""Reading Stripe objects as dj-stripe stores them, across API versions.

dj-stripe 2.11 reads a few fields where older Stripe API versions kept them. Since
2025-03-31 the period end lives on each subscription item and an invoice names its
subscription under `parent.subscription_details`, so `Subscription.current_period_end`
is None and `Invoice.subscription` stays empty. Read those through these helpers, never
through the dj-stripe properties.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

StripeData = Mapping[str, Any]


def timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def subscription_items(subscription: StripeData) -> list[StripeData]:
    items = subscription.get("items") or {}
    return list(items.get("data") or [])


def item_period_end(item: StripeData, subscription: StripeData) -> datetime | None:
    """When the paid-for period of one subscription item ends."""
    return timestamp(item.get("current_period_end") or subscription.get("current_period_end"))


def subscription_period_end(subscription: StripeData) -> datetime | None:
    """The latest period end across the subscription's items (or its top level, pre-2025)."""
    ends = [item_period_end(item, subscription) for item in subscription_items(subscription)]
    ends.append(timestamp(subscription.get("current_period_end")))
    return max((end for end in ends if end), default=None)


def invoice_subscription_id(invoice: StripeData) -> str | None:
    """The subscription an invoice bills, wherever this API version puts it."""
    direct = invoice.get("subscription")
    if direct:
        return direct if isinstance(direct, str) else direct.get("id")
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    nested = details.get("subscription")
    if nested:
        return nested if isinstance(nested, str) else nested.get("id")
    return None


def earliest(values: Iterable[datetime | None]) -> datetime | None:
    return min((value for value in values if value), default=None)

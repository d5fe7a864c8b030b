"""Reading period ends and invoice subscriptions across Stripe API versions."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.billing import stripe_data
from tests.billing.fake_stripe import fixture

T1 = 1_800_000_000
T2 = T1 + 30 * 24 * 3600


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def subscription(*item_ends: int | None, top_level: int | None = None) -> dict[str, Any]:
    """The stored JSON shape: item-level period ends (current API), optional top level."""
    sub = fixture("subscription")
    items = []
    for end in item_ends:
        item = fixture("subscription_item")
        item.pop("current_period_end", None)
        if end is not None:
            item["current_period_end"] = end
        items.append(item)
    sub["items"]["data"] = items
    if top_level is not None:
        sub["current_period_end"] = top_level
    return sub


def test_period_end_comes_from_the_item_on_current_api_versions():
    sub = subscription(T1)

    assert "current_period_end" not in sub
    assert stripe_data.subscription_period_end(sub) == at(T1)


def test_period_end_is_the_latest_across_items():
    assert stripe_data.subscription_period_end(subscription(T1, T2)) == at(T2)


def test_period_end_falls_back_to_the_top_level_on_older_api_versions():
    sub = subscription(None, top_level=T1)

    assert stripe_data.subscription_period_end(sub) == at(T1)
    assert stripe_data.item_period_end(sub["items"]["data"][0], sub) == at(T1)


def test_item_period_end_wins_over_the_top_level():
    sub = subscription(T2, top_level=T1)

    assert stripe_data.item_period_end(sub["items"]["data"][0], sub) == at(T2)
    assert stripe_data.subscription_period_end(sub) == at(T2)


def test_period_end_is_none_without_any_period():
    assert stripe_data.subscription_period_end(subscription()) is None
    assert stripe_data.subscription_period_end({"items": None}) is None


def test_invoice_names_its_subscription_under_parent_on_current_api_versions():
    invoice = fixture("invoice")
    invoice["parent"]["subscription_details"]["subscription"] = "sub_nested"

    assert "subscription" not in invoice
    assert stripe_data.invoice_subscription_id(invoice) == "sub_nested"


def test_expanded_subscription_under_parent_gives_its_id():
    invoice = fixture("invoice")
    invoice["parent"]["subscription_details"]["subscription"] = {"id": "sub_expanded"}

    assert stripe_data.invoice_subscription_id(invoice) == "sub_expanded"


@pytest.mark.parametrize("value", ["sub_top", {"id": "sub_top", "object": "subscription"}])
def test_invoice_subscription_at_the_top_level_is_read_on_older_api_versions(value):
    invoice = fixture("invoice")
    del invoice["parent"]
    invoice["subscription"] = value

    assert stripe_data.invoice_subscription_id(invoice) == "sub_top"


def test_top_level_invoice_subscription_wins_over_parent():
    invoice = fixture("invoice")
    invoice["subscription"] = "sub_top"

    assert stripe_data.invoice_subscription_id(invoice) == "sub_top"


@pytest.mark.parametrize("parent", [None, {"type": "quote_details", "subscription_details": None}])
def test_invoice_without_a_subscription_gives_none(parent):
    invoice = fixture("invoice")
    invoice["parent"] = parent

    assert stripe_data.invoice_subscription_id(invoice) is None


def test_timestamp_and_earliest_skip_missing_values():
    assert stripe_data.timestamp(None) is None
    assert stripe_data.timestamp(0) is None
    assert stripe_data.timestamp(T1) == at(T1)
    assert stripe_data.earliest([None, at(T2), at(T1)]) == at(T1)
    assert stripe_data.earliest([None]) is None

"""The catalog reads: which prices are offered (and so may be sold), in which order."""

import time

import pytest

from apps.billing import selectors, services
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro(fake_stripe):  # type: ignore[no-untyped-def]
    return build.product(fake_stripe, key="pro", name="Pro", features=["reports"], order="2")


def offered(plan_name: str) -> dict[str, str]:
    """interval -> price id of the named plan on the pricing page."""
    plan = next(plan for plan in selectors.plans_for_pricing() if plan.name == plan_name)
    return {interval: price.id for interval, price in plan.prices.items()}


def test_product_with_order_zero_sorts_first(fake_stripe, pro):
    basic = build.product(fake_stripe, key="basic", name="Basic", features=[], order="0")
    build.price(fake_stripe, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    build.price(fake_stripe, product_id=basic["id"], lookup_key="basic_monthly", amount=500)
    services.plans_sync()

    assert [plan.name for plan in selectors.plans_for_pricing()] == ["Basic", "Pro"]


def test_active_price_without_the_sellable_mark_is_not_offered(fake_stripe, pro):
    current = build.price(fake_stripe, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    legacy = build.price(
        fake_stripe, product_id=pro["id"], lookup_key=None, amount=100, sellable=False
    )
    services.plans_sync()

    assert offered("Pro") == {"month": current["id"]}
    assert selectors.price_for_checkout(legacy["id"]) is None
    assert selectors.price_for_checkout(current["id"]) is not None


def test_product_whose_prices_are_all_unsellable_is_not_on_the_pricing_page(fake_stripe, pro):
    build.price(fake_stripe, product_id=pro["id"], lookup_key=None, amount=100, sellable=False)
    services.plans_sync()

    assert selectors.plans_for_pricing() == []


def test_the_products_default_price_is_offered_over_other_sellable_prices(fake_stripe, pro):
    now = int(time.time())
    default = build.price(
        fake_stripe, product_id=pro["id"], lookup_key="pro_a", amount=1200, created=now - 60
    )
    newer = build.price(fake_stripe, product_id=pro["id"], lookup_key="pro_b", amount=1500)
    fake_stripe.update(pro["id"], default_price=default["id"])
    services.plans_sync()

    assert offered("Pro") == {"month": default["id"]}
    assert selectors.price_for_checkout(newer["id"]) is None


def test_without_a_default_price_the_newest_sellable_price_is_offered(fake_stripe, pro):
    now = int(time.time())
    newest = build.price(
        fake_stripe, product_id=pro["id"], lookup_key="pro_b", amount=1500, created=now
    )
    build.price(
        fake_stripe, product_id=pro["id"], lookup_key="pro_a", amount=1200, created=now - 60
    )
    build.price(fake_stripe, product_id=pro["id"], lookup_key="pro_c", amount=900, created=now - 9)
    services.plans_sync()

    assert offered("Pro") == {"month": newest["id"]}

"""From dj-stripe rows to the rule's facts: what names a plan."""

import pytest
from django.conf import settings
from djstripe.models import Customer

from apps.billing import selectors, services
from apps.billing.access.resolver import access_compute
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def test_a_product_without_plan_metadata_is_the_plan_named_by_its_product_id(user, fake_stripe):
    product = build.product(fake_stripe, key="solo", name="Solo", features=["reports"])
    fake_stripe.update(product["id"], metadata={})
    price = build.price(
        fake_stripe, product_id=product["id"], lookup_key="solo_monthly", amount=900
    )
    services.plans_sync()
    customer = build.customer(fake_stripe, user_id=user.pk, email=user.email)
    Customer.sync_from_stripe_data(customer, api_key=settings.STRIPE_TEST_SECRET_KEY)
    sub = build.subscription(fake_stripe, customer_id=customer["id"], price_ids=[price["id"]])
    services.subscription_sync(data=sub)

    access = access_compute(user.pk)

    assert access.plan == "prod_solo"  # never the price's lookup key
    [plan] = selectors.plans_for_pricing()
    assert plan.key == access.plan
    assert plan.is_current(access.plan)
    assert selectors.plan_name(access.plan) == "Solo"

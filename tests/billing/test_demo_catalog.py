"""The offline demo catalog, and `billing_sync_plans` against (fake) Stripe."""

from io import StringIO

import pytest
import stripe
from django.core.management import call_command
from django.core.management.base import CommandError
from djstripe.models import Feature, Price, Product, ProductFeature

from apps.billing import selectors
from apps.billing.demo import catalog_load_demo
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def features_of(product_id: str) -> set[str]:
    return {
        pf.entitlement_feature.lookup_key
        for pf in ProductFeature.objects.filter(product_id=product_id).select_related(
            "entitlement_feature"
        )
    }


def test_demo_catalog_loads_three_products_and_four_prices_with_features(fake_stripe):
    lines: list[str] = []

    loaded = catalog_load_demo(progress=lines.append)

    assert loaded == 7
    assert set(Product.objects.values_list("name", flat=True)) == {"Free", "Pro", "Team"}
    assert set(Price.objects.values_list("lookup_key", flat=True)) == {
        "pro_monthly",
        "pro_yearly",
        "team_monthly",
        "team_yearly",
    }
    assert features_of("prod_demo_free") == {"community"}
    assert features_of("prod_demo_pro") == {"community", "reports", "exports"}
    assert features_of("prod_demo_team") == {
        "community",
        "reports",
        "exports",
        "team_space",
        "priority_support",
    }
    assert "product Pro" in lines
    assert "price team_yearly" in lines


def test_demo_catalog_never_reaches_the_stripe_api_and_restores_the_client(fake_stripe):
    catalog_load_demo()

    assert fake_stripe.calls == []
    assert stripe.default_http_client is fake_stripe


def test_demo_catalog_is_idempotent(fake_stripe):
    catalog_load_demo()
    counts = (Product.objects.count(), Price.objects.count(), ProductFeature.objects.count())

    catalog_load_demo()

    assert (Product.objects.count(), Price.objects.count()) == (3, 4)
    assert (
        Product.objects.count(),
        Price.objects.count(),
        ProductFeature.objects.count(),
    ) == counts
    assert Feature.objects.count() == 5


def test_demo_catalog_feeds_the_pricing_plans(fake_stripe):
    catalog_load_demo()

    plans = selectors.plans_for_pricing()

    assert [plan.name for plan in plans] == ["Free", "Pro", "Team"]
    free, pro, team = plans
    assert free.is_free
    assert free.prices == {}
    assert set(pro.prices) == {"month", "year"}
    assert pro.prices["month"].trial_days == 14
    assert "Team space" in team.features
    assert team.key == "team"


# --- billing_sync_plans ----------------------------------------------------------------


@pytest.fixture
def stripe_catalog(fake_stripe):  # type: ignore[no-untyped-def]
    pro = build.product(fake_stripe, key="pro", name="Pro", features=["reports"])
    build.price(fake_stripe, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    build.price(
        fake_stripe, product_id=pro["id"], lookup_key="pro_yearly", amount=12000, interval="year"
    )
    retired = build.product(fake_stripe, key="old", name="Old", features=[])
    fake_stripe.update(retired["id"], active=False)
    return pro


def test_sync_plans_command_prints_progress_and_syncs_active_plans(stripe_catalog, fake_stripe):
    out = StringIO()

    call_command("billing_sync_plans", stdout=out)

    output = out.getvalue()
    assert "Syncing plans from Stripe" in output
    assert "product prod_pro Pro" in output
    assert "price price_pro_monthly pro_monthly" in output
    assert "Synced 1 products and 2 prices." in output
    assert list(Product.objects.values_list("id", flat=True)) == ["prod_pro"]
    assert Price.objects.filter(product_id="prod_pro").count() == 2
    assert features_of("prod_pro") == {"reports"}
    assert fake_stripe.calls_to("get", "/v1/products")
    assert fake_stripe.calls_to("get", "/v1/prices")


def test_sync_plans_command_is_idempotent(stripe_catalog):
    call_command("billing_sync_plans", stdout=StringIO())
    call_command("billing_sync_plans", stdout=StringIO())

    assert (Product.objects.count(), Price.objects.count()) == (1, 2)


def test_sync_plans_command_fails_with_a_readable_error_when_stripe_is_down(
    stripe_catalog, fake_stripe
):
    fake_stripe.unreachable = True

    with pytest.raises(CommandError, match="couldn't reach our payment provider"):
        call_command("billing_sync_plans", stdout=StringIO())

    assert not Product.objects.exists()


def test_sync_plans_command_warns_when_no_price_is_marked_sellable(fake_stripe):
    pro = build.product(fake_stripe, key="pro", name="Pro", features=["reports"])
    build.price(
        fake_stripe, product_id=pro["id"], lookup_key="pro_monthly", amount=1200, sellable=False
    )
    out = StringIO()

    call_command("billing_sync_plans", stdout=out)

    assert "No price is offered: add the metadata sellable=true" in out.getvalue()


def test_sync_plans_command_does_not_warn_when_prices_are_offered(stripe_catalog):
    out = StringIO()

    call_command("billing_sync_plans", stdout=out)

    assert "No price is offered" not in out.getvalue()

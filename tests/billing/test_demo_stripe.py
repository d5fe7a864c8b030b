"""The offline demo Stripe: reads from the catalog and a shared state file, no writes,
and never installed outside local runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from apps.billing import demo_stripe
from apps.billing.checks import check_demo_stripe

ROOT = Path(__file__).resolve().parents[2]
KEY = demo_stripe.DEMO_API_KEY


def test_demo_stripe_answers_reads_from_the_catalog_and_the_state_file(demo_store):
    demo_store.put({"id": "cus_demo_x", "object": "customer", "email": "x@example.com"})

    product = stripe.Product.retrieve("prod_demo_pro", api_key=KEY)
    customer = stripe.Customer.retrieve("cus_demo_x", api_key=KEY)
    features = stripe.Product.list_features("prod_demo_pro", api_key=KEY)

    assert product["name"] == "Pro"
    assert "_features" not in product
    assert customer["email"] == "x@example.com"
    assert {f["entitlement_feature"]["lookup_key"] for f in features} == {
        "community",
        "reports",
        "exports",
    }


def test_demo_stripe_answers_an_unknown_id_as_stripe_does(demo_store):
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription") as caught:
        stripe.Subscription.retrieve("sub_missing", api_key=KEY)

    assert caught.value.code == "resource_missing"


def test_demo_stripe_refuses_writes_and_says_how_to_use_stripe(demo_store):
    with pytest.raises(stripe.InvalidRequestError, match="STRIPE_TEST_SECRET_KEY"):
        stripe.Customer.create(email="x@example.com", api_key=KEY)

    assert demo_store.state() == {}


def test_demo_stripe_state_written_by_one_store_is_read_by_another(demo_store):
    other_process_view = demo_stripe.DemoStore(demo_store.path)
    demo_store.put({"id": "sub_demo_x", "object": "subscription", "status": "active"})

    demo_store.put({"id": "sub_demo_x", "object": "subscription", "status": "past_due"})

    assert other_process_view.get("sub_demo_x")["status"] == "past_due"
    assert list(demo_store.path.parent.glob("*.tmp")) == []


def test_demo_stripe_check_refuses_it_without_debug_or_in_live_mode(settings):
    settings.DEMO_STRIPE = True
    settings.DEBUG = False
    settings.STRIPE_LIVE_MODE = True
    settings.STRIPE_TEST_SECRET_KEY = KEY

    errors = check_demo_stripe()

    assert [e.id for e in errors] == ["billing.E005", "billing.E005"]
    assert "DEBUG is off" in errors[0].msg
    assert "STRIPE_LIVE_MODE is on" in errors[1].msg


def test_demo_stripe_check_passes_a_local_run(settings):
    settings.DEMO_STRIPE = settings.DEBUG = True
    settings.STRIPE_TEST_SECRET_KEY = KEY

    assert check_demo_stripe() == []


def _stripe_client_under(module: str, **env: str) -> str:
    code = (
        "import django, stripe; django.setup(); from django.conf import settings; "
        "print(type(stripe.default_http_client).__name__, settings.DEMO_STRIPE)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DEMO_"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": module},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_local_settings_without_a_stripe_key_install_the_demo_stripe():
    assert _stripe_client_under("config.settings.local") == "DemoStripeClient True"


def test_local_settings_with_a_stripe_key_use_stripe():
    assert not _stripe_client_under(
        "config.settings.local", STRIPE_TEST_SECRET_KEY="sk_test_" + "a" * 24
    ).startswith("DemoStripeClient")


def test_production_settings_never_turn_the_demo_stripe_on():
    output = _stripe_client_under(
        "config.settings.production",
        DEMO_STRIPE="true",
        SECRET_KEY="test-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tollgate",
        REDIS_URL="redis://127.0.0.1:6379/0",
        ALLOWED_HOSTS="tollgate.example.com",
    )

    assert not output.startswith("DemoStripeClient")
    assert output.endswith("False")

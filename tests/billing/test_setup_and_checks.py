"""`billing_setup` (the webhook endpoint row) and the billing system checks."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from djstripe.models import Event, WebhookEndpoint

from apps.billing import services
from apps.billing.checks import check_billing_pages, check_stripe_settings
from tests.billing import stripe_builders as build

LIVE_KEYS = {
    "STRIPE_LIVE_SECRET_KEY": "sk_live_" + "a" * 30,
    "STRIPE_LIVE_PUBLIC_KEY": "pk_live_" + "b" * 30,
    "STRIPE_WEBHOOK_SECRET": "whsec_live_secret",
}


def run_setup(**options: str) -> str:
    out = StringIO()
    call_command("billing_setup", stdout=out, **options)
    return out.getvalue()


# --- billing_setup ---------------------------------------------------------------------


@pytest.mark.django_db
def test_billing_setup_creates_the_endpoint_and_prints_its_url():
    output = run_setup()

    endpoint = WebhookEndpoint.objects.get()
    assert f"/stripe/webhook/{endpoint.djstripe_uuid}/" in output
    assert endpoint.url == f"http://testserver/stripe/webhook/{endpoint.djstripe_uuid}/"
    assert endpoint.secret == settings.STRIPE_WEBHOOK_SECRET
    assert endpoint.livemode is False
    assert set(endpoint.enabled_events) == set(services.WEBHOOK_EVENTS)
    assert "Created the test-mode webhook endpoint" in output
    assert "customer.subscription.updated" in output


@pytest.mark.django_db
def test_billing_setup_is_idempotent_and_keeps_the_url():
    run_setup()
    first = WebhookEndpoint.objects.get()

    output = run_setup(base_url="https://tollgate.example")

    again = WebhookEndpoint.objects.get()
    assert again.djstripe_uuid == first.djstripe_uuid
    assert "Updated" in output
    assert f"https://tollgate.example/stripe/webhook/{first.djstripe_uuid}/" in output


@pytest.mark.django_db
def test_billing_setup_picks_up_a_rotated_secret(settings):
    run_setup()
    settings.STRIPE_WEBHOOK_SECRET = "whsec_rotated"

    run_setup()

    assert WebhookEndpoint.objects.get().secret == "whsec_rotated"


@pytest.mark.django_db
def test_endpoint_from_billing_setup_accepts_a_signed_delivery(client, subscribe, fake_stripe):
    run_setup()
    endpoint = WebhookEndpoint.objects.get()
    sub = subscribe("pro_monthly")
    event = build.event(fake_stripe, "customer.subscription.updated", sub)

    path = endpoint.url.removeprefix("http://testserver")
    response = build.post_webhook(client, path, event, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 200
    assert Event.objects.filter(id=event["id"]).exists()


@pytest.mark.django_db
def test_billing_setup_without_a_webhook_secret_names_the_variable(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""

    with pytest.raises(CommandError, match="STRIPE_WEBHOOK_SECRET"):
        run_setup()

    assert not WebhookEndpoint.objects.exists()


# --- system checks ---------------------------------------------------------------------


def messages(errors) -> list[str]:  # type: ignore[no-untyped-def]
    return [error.msg for error in errors]


def test_test_settings_pass_the_billing_checks():
    assert check_stripe_settings() == []


def test_live_mode_with_every_key_set_passes(settings):
    settings.STRIPE_LIVE_MODE = True
    for name, value in LIVE_KEYS.items():
        setattr(settings, name, value)

    assert check_stripe_settings() == []


@pytest.mark.parametrize("missing", sorted(LIVE_KEYS))
def test_live_mode_without_a_required_variable_is_an_error_naming_it(settings, missing):
    settings.STRIPE_LIVE_MODE = True
    for name, value in LIVE_KEYS.items():
        setattr(settings, name, "" if name == missing else value)

    errors = check_stripe_settings()

    assert [error.id for error in errors] == ["billing.E001"]
    assert missing in errors[0].msg
    assert missing in errors[0].hint


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_TEST_SECRET_KEY", "pk_test_" + "a" * 30),
        ("STRIPE_TEST_SECRET_KEY", "sk_test_short"),
        ("STRIPE_TEST_PUBLIC_KEY", "sk_test_" + "a" * 30),
        ("STRIPE_WEBHOOK_SECRET", "whsec-with spaces"),
        ("STRIPE_LIVE_SECRET_KEY", "sk_live_" + "a" * 10),
        ("STRIPE_LIVE_PUBLIC_KEY", "live_" + "b" * 30),
    ],
)
def test_a_malformed_key_is_an_error_naming_the_variable(settings, name, value):
    setattr(settings, name, value)

    errors = check_stripe_settings()

    assert [error.id for error in errors] == ["billing.E002"]
    assert name in errors[0].msg


@pytest.mark.parametrize("value", ["soon", "3 weeks", "-1", "12x"])
def test_a_bad_past_due_grace_is_an_error_naming_the_variable(settings, value):
    settings.BILLING_PAST_DUE_GRACE = value

    errors = check_stripe_settings()

    assert [error.id for error in errors] == ["billing.E003"]
    assert "BILLING_PAST_DUE_GRACE" in errors[0].msg


@pytest.mark.parametrize("value", ["0", "3600", "30m", "12h", "3d"])
def test_a_valid_past_due_grace_passes(settings, value):
    settings.BILLING_PAST_DUE_GRACE = value

    assert check_stripe_settings() == []


@pytest.mark.parametrize("value", ["30", "x/10m", "30/soon", "30/0s"])
def test_a_bad_webhook_rejection_rate_is_an_error_naming_the_variable(settings, value):
    settings.BILLING_WEBHOOK_REJECTION_RATE = value

    errors = check_stripe_settings()

    assert [error.id for error in errors] == ["billing.E004"]
    assert "BILLING_WEBHOOK_REJECTION_RATE" in errors[0].msg


def test_billing_pages_resolve_by_default():
    assert check_billing_pages() == []


@pytest.mark.parametrize(
    "pages",
    [
        {"pricing": "web:no-such-page", "dashboard": "web:dashboard", "billing": "web:billing"},
        {"dashboard": "web:dashboard", "billing": "web:billing"},
    ],
)
def test_a_billing_page_that_does_not_resolve_is_an_error_naming_it(settings, pages):
    settings.BILLING_PAGES = pages

    errors = check_billing_pages()

    assert [error.id for error in errors] == ["billing.E006"]
    assert "BILLING_PAGES['pricing']" in errors[0].msg


@pytest.mark.django_db
def test_billing_sends_members_where_billing_pages_say(settings, client, user):
    settings.BILLING_PAGES = {"pricing": "/elsewhere/", "dashboard": "/", "billing": "/"}
    client.force_login(user)

    response = client.get("/billing/checkout/success/")

    assert response.status_code == 302
    assert response["Location"] == "/elsewhere/"

"""End to end: a signed Stripe webhook changes what the user's next request may see,
on every device the user is signed in on (each with a warm Access cache)."""

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from apps.billing.access.resolver import access_for_user
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def sign_in(client: Client, *, email: str, password: str) -> Client:
    """Sign in through allauth's login view, as a browser does."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content
    return client


def denied(client: Client, url: str) -> bool:
    response = client.get(url)
    return response.status_code == 302 and response["Location"].startswith(reverse("web:pricing"))


@pytest.fixture
def devices(user) -> list[Client]:  # type: ignore[no-untyped-def]
    """The user signed in on a laptop and a phone: two sessions."""
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    return [laptop, phone]


@pytest.fixture
def pro(subscribe, devices):  # type: ignore[no-untyped-def]
    """A Pro subscription whose Access is cached (both devices have seen /reports/)."""
    sub = subscribe("pro_monthly")
    for device in devices:
        assert device.get(reverse("web:reports")).status_code == 200
    return sub


def fail_payment(fake_stripe, send_event, sub):  # type: ignore[no-untyped-def]
    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    response = send_event("invoice.payment_failed", invoice)
    assert response.status_code == 200


def test_payment_failed_webhook_revokes_access_on_every_device(
    pro, devices, fake_stripe, send_event
):
    fail_payment(fake_stripe, send_event, pro)

    assert all(denied(device, reverse("web:reports")) for device in devices)


@pytest.mark.parametrize(
    ("event_type", "status", "access_status"),
    [
        ("customer.subscription.deleted", "canceled", "canceled"),
        ("customer.subscription.paused", "paused", "past_due"),
        ("customer.subscription.updated", "unpaid", "past_due"),
    ],
)
def test_subscription_ending_webhook_revokes_access_on_every_device(
    pro, devices, user, fake_stripe, send_event, event_type, status, access_status
):
    subscription = fake_stripe.update(pro["id"], status=status)

    response = send_event(event_type, subscription)

    assert response.status_code == 200
    assert all(denied(device, reverse("web:reports")) for device in devices)
    access = access_for_user(user)
    assert (access.status, access.stripe_status) == (access_status, status)


def test_upgrade_to_team_opens_the_team_space_on_the_next_request(
    pro, devices, catalog, stripe_customer, fake_stripe, send_event
):
    assert all(denied(device, reverse("web:team_space")) for device in devices)
    upgraded = build.subscription(
        fake_stripe,
        id=pro["id"],
        customer_id=stripe_customer["id"],
        price_ids=[catalog["team_monthly"]],
    )

    response = send_event("customer.subscription.updated", upgraded)

    assert response.status_code == 200
    for device in devices:
        assert device.get(reverse("web:team_space")).status_code == 200
        assert device.get(reverse("web:reports")).status_code == 200


def test_cancellation_signs_out_every_session_when_configured(
    settings, user, password, subscribe, fake_stripe, send_event
):
    settings.BILLING_END_SESSIONS_ON_CANCEL = True
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    devices = [sign_in(Client(), email=user.email, password=password) for _ in range(2)]
    sub = subscribe("pro_monthly")
    for device in devices:
        assert device.get(reverse("web:reports")).status_code == 200
    assert UserSession.objects.filter(user=user).count() == 2

    send_event("customer.subscription.deleted", fake_stripe.update(sub["id"], status="canceled"))

    assert not UserSession.objects.filter(user=user).exists()
    for device in devices:
        response = device.get(reverse("web:reports"))
        assert not response.wsgi_request.user.is_authenticated
        assert response["Location"].startswith(reverse("account_login"))


def test_cancellation_keeps_sessions_by_default(pro, devices, fake_stripe, send_event):
    send_event("customer.subscription.deleted", fake_stripe.update(pro["id"], status="canceled"))

    for device in devices:
        response = device.get(reverse("web:dashboard"))
        assert response.status_code == 200
        assert response.wsgi_request.user.is_authenticated


def test_past_due_inside_the_grace_period_keeps_access_and_shows_the_banner(
    settings, pro, devices, user, fake_stripe, send_event
):
    settings.BILLING_PAST_DUE_GRACE = "3d"

    fail_payment(fake_stripe, send_event, pro)

    access = access_for_user(user)
    assert (access.status, access.stripe_status) == ("grace", "past_due")
    assert access.in_grace
    assert access.has("reports")
    for device in devices:
        assert device.get(reverse("web:reports")).status_code == 200
        dashboard = device.get(reverse("web:dashboard")).content.decode()
        assert "Your last payment failed." in dashboard
        assert "Your access continues until" in dashboard


def test_past_due_without_grace_shows_the_banner_without_access(
    pro, devices, fake_stripe, send_event
):
    fail_payment(fake_stripe, send_event, pro)

    dashboard = devices[0].get(reverse("web:dashboard")).content.decode()
    assert "Your last payment failed." in dashboard
    assert "Your access continues until" not in dashboard

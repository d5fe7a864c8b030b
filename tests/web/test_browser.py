"""End to end in headless Chromium against the live server: a member signs up, pays,
loses access when a payment fails, and ends a session from another device.

Stripe is the in-process fake (tests/billing/fake_stripe.py); webhooks are signed as
Stripe signs them and POSTed to the live server over HTTP, so dj-stripe, our handlers
and their after-commit cache invalidation all run for real.
"""

import json
import re
from typing import Any

import pytest
import requests
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from djstripe.models import Customer
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from tests.accounts import user_agents as ua
from tests.accounts.factories import UserFactory
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ada@example.com"
PASSWORD = "a long and unguessable passphrase"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+")


def send_webhook(live_server, webhook_url: str, fake_stripe, event_type: str, obj: dict) -> None:  # type: ignore[no-untyped-def]
    event = build.event(fake_stripe, event_type, obj)
    body = json.dumps(event)
    response = requests.post(
        live_server.url + webhook_url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def sign_up(page: Page, screenshot: Any) -> None:
    page.goto("/accounts/signup/")
    screenshot(page, "signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Verify Your Email"))
    screenshot(page, "verify-email-sent")


def confirm_email(page: Page, screenshot: Any) -> None:
    (message,) = mail.outbox
    link = CONFIRM_LINK.search(message.body)
    assert link is not None, message.body
    page.goto(link.group())
    screenshot(page, "confirm-email")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def is_denied(page: Page, path: str) -> bool:
    page.goto(path)
    return page.url.split("?")[0].endswith("/pricing/")


def test_sign_up_pay_and_lose_access_when_a_payment_fails(
    new_visitor, screenshot, live_server, catalog, webhook_url, fake_stripe
):
    page = new_visitor()
    page.goto("/")
    screenshot(page, "home")
    sign_up(page, screenshot)
    confirm_email(page, screenshot)

    page.goto("/pricing/")
    expect(page.get_by_role("button", name="Subscribe to Pro")).to_be_visible()
    screenshot(page, "pricing")
    page.get_by_role("link", name="Yearly").click()
    expect(page.get_by_text("$120")).to_be_visible()
    screenshot(page, "pricing-yearly")

    assert is_denied(page, "/reports/")
    expect(page.get_by_role("status")).to_contain_text("needs a plan that includes Reports")
    screenshot(page, "reports-denied")

    user = User.objects.get(email=EMAIL)
    customer = build.customer(fake_stripe, user_id=user.pk, email=EMAIL)
    Customer.sync_from_stripe_data(customer, api_key=settings.STRIPE_TEST_SECRET_KEY)
    sub = build.subscription(
        fake_stripe, customer_id=customer["id"], price_ids=[catalog["pro_monthly"]]
    )
    send_webhook(live_server, webhook_url, fake_stripe, "customer.subscription.created", sub)

    assert not is_denied(page, "/reports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    screenshot(page, "reports")
    assert is_denied(page, "/team/")  # Pro has no team space
    expect(page.get_by_role("status")).to_contain_text("Team Space")
    page.goto("/dashboard/")
    expect(page.locator("#plan-heading")).to_contain_text("Pro")
    expect(page.get_by_text("Renews on")).to_be_visible()
    screenshot(page, "dashboard")
    page.goto("/pricing/")
    expect(page.get_by_role("button", name="Manage plan")).to_be_visible()
    screenshot(page, "pricing-member")

    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    send_webhook(live_server, webhook_url, fake_stripe, "invoice.payment_failed", invoice)

    assert is_denied(page, "/reports/")
    page.goto("/dashboard/")
    expect(page.get_by_role("alert")).to_contain_text("Your last payment failed")
    expect(page.get_by_role("button", name="Update payment method")).to_be_visible()
    screenshot(page, "dashboard-past-due")
    page.goto("/account/billing/")
    expect(page.get_by_role("cell", name=invoice["number"], exact=True)).to_be_visible()
    screenshot(page, "billing")


@pytest.fixture
def member(db) -> User:  # type: ignore[no-untyped-def]
    user = UserFactory(email=EMAIL, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    return user


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_ending_another_session_signs_that_device_out_on_its_next_load(
    new_visitor, screenshot, member
):
    laptop = new_visitor(user_agent=ua.CHROME_LINUX)
    phone = new_visitor(user_agent=ua.SAFARI_IPHONE, width=390, height=844)
    sign_in(laptop)
    sign_in(phone)
    screenshot(phone, "home-member-phone")
    phone.goto("/dashboard/")
    screenshot(phone, "dashboard-phone")

    laptop.goto("/accounts/sessions/")
    expect(laptop.get_by_role("row", name=re.compile("Chrome on Linux"))).to_contain_text("Current")
    screenshot(laptop, "sessions")
    phone_row = laptop.get_by_role("row", name=re.compile("Safari on iOS"))
    phone_row.get_by_role("button", name="Sign out").click()
    expect(laptop.get_by_role("status")).to_contain_text("That device is signed out")
    expect(laptop.get_by_role("row", name=re.compile("Safari on iOS"))).to_have_count(0)

    phone.goto("/dashboard/")
    assert "/accounts/login/" in phone.url
    expect(phone.get_by_role("link", name="Sign in")).to_be_visible()
    laptop.goto("/dashboard/")
    assert laptop.url.endswith("/dashboard/")


def test_account_and_error_pages_look_right(
    new_visitor, screenshot, member, catalog, github_and_keycloak
):
    page = new_visitor()
    page.goto("/accounts/login/")
    expect(page.get_by_role("link", name="GitHub")).to_be_visible()
    screenshot(page, "login")
    sign_in(page)
    for path, name in [
        ("/accounts/email/", "account-email"),
        ("/accounts/password/change/", "account-password"),
        ("/accounts/3rdparty/", "account-connections"),
        ("/accounts/2fa/", "account-two-factor"),
        ("/account/billing/", "billing-empty"),
        ("/no-such-page/", "404"),
    ]:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        screenshot(page, name)
    phone = new_visitor(width=390, height=844)
    phone.goto("/pricing/")
    screenshot(phone, "pricing-phone")

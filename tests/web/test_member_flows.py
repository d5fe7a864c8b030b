"""Every flow a member clicks through, in headless Chromium against the live server.

Stripe is the in-process fake; its Checkout and Portal pages are stand-ins answered at
Stripe's real hosts (tests/web/stripe_standins.py), and webhooks are signed as Stripe
signs them and POSTed to the live server, so dj-stripe, our handlers and their
after-commit invalidations all run for real. Each test keeps a screenshot of its final
state in tests/artifacts/.
"""

import copy
import re
from typing import Any

import pytest
from csp.constants import SELF
from django.core import mail
from djstripe.models import Customer, Session, Subscription
from playwright.sync_api import Page, expect

from apps.billing import services
from apps.billing.stripe_api import api_key
from tests.billing import stripe_builders as build

from .browser_steps import (
    PASSWORD,
    expect_reports_denied,
    expect_reports_open,
    sign_in,
    sign_in_member,
    verified_user,
)

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "grace@example.com"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+")
NOT_ACTIVE = "Your subscription is not active"


def test_new_member_signs_up_verifies_from_the_outbox_and_signs_in(new_visitor, screenshot):
    page = new_visitor()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")

    other_device = new_visitor()
    sign_in(other_device, EMAIL)  # an unverified address cannot sign in yet
    expect(other_device.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    expect(other_device.get_by_role("button", name="Sign out")).to_have_count(0)

    body = str(mail.outbox[0].body)
    link = CONFIRM_LINK.search(body)
    assert link is not None, body
    page.goto(link.group())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()

    sign_in_member(page, EMAIL)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#plan-heading")).to_be_visible()
    expect(page.get_by_text("You're on the free tier")).to_be_visible()
    screenshot(page, "flow-signed-up-dashboard")


def test_member_subscribes_through_hosted_checkout_and_the_reports_page_opens(
    new_visitor, screenshot, catalog, hosted_stripe, fake_stripe
):
    verified_user(EMAIL)
    page = new_visitor()
    hosted_stripe.install(page.context)
    sign_in_member(page, EMAIL)
    expect_reports_denied(page)

    page.get_by_role("button", name="Subscribe to Pro").click()
    expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_"))
    page.get_by_role("link", name="Back").click()  # changed their mind: back to pricing
    expect(page).to_have_url(re.compile(r"/pricing/$"))
    assert hosted_stripe.webhooks.delivered == []

    page.get_by_role("button", name="Subscribe to Pro").click()
    expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to Pro")
    expect(page.get_by_text("14 days free")).to_be_visible()
    screenshot(page, "flow-checkout-standin")
    session_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("status")).to_contain_text("Welcome aboard")
    expect(page.locator("#plan-heading")).to_contain_text("Pro")
    expect(page.get_by_text("Free trial")).to_contain_text("14 days left")
    assert hosted_stripe.webhooks.delivered == [
        "checkout.session.completed",
        "customer.subscription.created",
    ]
    # The success page was given the real session id and read the session back.
    assert any(
        call.path == f"/v1/checkout/sessions/{session_id}"
        and call.query.get("expand") == ["subscription"]
        for call in fake_stripe.calls_to("get", "/v1/checkout/sessions/")
    )
    assert Session.objects.get(id=session_id).status == "complete"
    assert Subscription.objects.get(customer__subscriber__email=EMAIL).status == "trialing"

    expect_reports_open(page)
    screenshot(page, "flow-checkout-reports")


def test_a_form_action_without_stripes_host_would_stop_checkout_at_the_site(
    new_visitor, catalog, hosted_stripe, fake_stripe, settings
):
    """The stand-ins run under the site's real CSP: the browser enforces it, not the test."""
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [SELF, "https://billing.stripe.com"]
    settings.CONTENT_SECURITY_POLICY = policy
    verified_user(EMAIL)
    page = new_visitor()
    hosted_stripe.install(page.context)
    sign_in_member(page, EMAIL)
    page.goto("/pricing/")

    with page.expect_console_message(lambda m: "form-action" in m.text):
        page.get_by_role("button", name="Subscribe to Pro").click()

    assert fake_stripe.calls_to("post", "/v1/checkout/sessions")  # the site answered 303
    expect(page).to_have_url(re.compile(r"/pricing/$"))
    assert hosted_stripe.webhooks.delivered == []
    assert hosted_stripe.csp_violations
    hosted_stripe.csp_violations.clear()  # expected here; any other test fails on one


@pytest.fixture
def pro_subscription(catalog, fake_stripe) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A verified member on Pro monthly, in the fake Stripe and synced locally."""
    user = verified_user(EMAIL)
    customer = build.customer(fake_stripe, user_id=user.pk, email=EMAIL)
    Customer.sync_from_stripe_data(customer, api_key=api_key())
    subscription = build.subscription(
        fake_stripe, customer_id=customer["id"], price_ids=[catalog["pro_monthly"]]
    )
    services.subscription_sync(data=subscription)
    return subscription


def test_failed_payment_closes_reports_on_both_devices_right_after_the_webhook(
    new_visitor, screenshot, pro_subscription, fake_stripe, signed_webhooks
):
    laptop = new_visitor(user_agent="LaptopBrowser/1.0")
    phone = new_visitor(user_agent="PhoneBrowser/2.0", width=390, height=844)
    for device in (laptop, phone):
        sign_in_member(device, EMAIL)
        expect_reports_open(device)  # the granted Access is now cached for both

    fake_stripe.update(pro_subscription["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=pro_subscription["id"], status="open")
    signed_webhooks.send("invoice.payment_failed", invoice)  # returns after the 200

    expect_reports_denied(laptop)
    expect_reports_denied(phone)
    screenshot(phone, "flow-past-due-phone-denied")
    laptop.goto("/dashboard/")
    expect(laptop.get_by_role("alert")).to_contain_text("Your last payment failed")
    expect(laptop.get_by_role("button", name="Update payment method")).to_be_visible()
    screenshot(laptop, "flow-past-due-laptop-dashboard")


def test_past_due_member_updates_their_card_in_the_portal_and_reports_open_again(
    new_visitor, screenshot, pro_subscription, fake_stripe, hosted_stripe
):
    page = new_visitor()
    hosted_stripe.install(page.context)
    sign_in_member(page, EMAIL)
    expect_reports_open(page)
    fake_stripe.update(pro_subscription["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=pro_subscription["id"], status="open")
    hosted_stripe.webhooks.send("invoice.payment_failed", invoice)
    expect_reports_denied(page)

    page.goto("/dashboard/")
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("Your last payment failed")
    banner.get_by_role("button", name="Update payment method").click()
    # On Stripe's host: the site's CSP let the form's redirect through (the fixture
    # fails the test on any CSP violation).
    expect(page).to_have_url(re.compile(r"^https://billing\.stripe\.com/p/session/bps_"))
    expect(page.get_by_text("Past due: the last payment failed")).to_be_visible()
    expect(page.get_by_text("No payment method on file")).to_be_visible()
    page.get_by_role("link", name="Add payment method").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Visa ending in 4242 (default)")).to_be_visible()
    screenshot(page, "flow-past-due-portal-card-added")
    customer = fake_stripe.get(pro_subscription["customer"])
    assert customer["invoice_settings"]["default_payment_method"].startswith("pm_")
    assert hosted_stripe.webhooks.delivered == ["invoice.payment_failed"]

    # Stripe charges the open invoice to the new card and says so; then the member
    # goes back to the site.
    hosted_stripe.invoice_retry(invoice["id"])
    page.get_by_role("link", name="Return to Tollgate").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("#plan-heading")).to_contain_text("Active")
    expect(page.get_by_text("Renews on")).to_be_visible()
    assert hosted_stripe.webhooks.delivered == [
        "invoice.payment_failed",
        "invoice.paid",
        "customer.subscription.updated",
    ]
    assert Subscription.objects.get(id=pro_subscription["id"]).status == "active"
    expect_reports_open(page)
    screenshot(page, "flow-past-due-paid-reports-open")


def cancel_in_portal(page: Page, screenshot: Any, *, then_says: str, name: str) -> None:
    page.goto("/dashboard/")
    page.get_by_role("button", name="Manage billing").click()
    expect(page).to_have_url(re.compile(r"^https://billing\.stripe\.com/p/session/bps_"))
    expect(page.get_by_text("Renews on")).to_be_visible()
    page.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_text(then_says)).to_be_visible()
    screenshot(page, f"{name}-portal")
    page.get_by_role("link", name="Return to Tollgate").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_cancel_at_period_end_in_the_portal_keeps_reports_open_until_the_period_ends(
    new_visitor, screenshot, pro_subscription, hosted_stripe
):
    page = new_visitor()
    hosted_stripe.install(page.context)
    sign_in_member(page, EMAIL)
    expect_reports_open(page)

    cancel_in_portal(
        page, screenshot, then_says="Your plan will be canceled on", name="flow-cancel-at-end"
    )

    assert hosted_stripe.webhooks.delivered == ["customer.subscription.updated"]
    expect(page.get_by_text("Cancelled — your access ends on")).to_be_visible()
    expect(page.get_by_text("Renews on")).to_have_count(0)
    screenshot(page, "flow-cancel-at-end-dashboard")
    expect_reports_open(page)
    assert Subscription.objects.get(id=pro_subscription["id"]).cancel_at_period_end


def test_cancel_immediately_in_the_portal_closes_reports_at_once(
    new_visitor, screenshot, pro_subscription, hosted_stripe
):
    hosted_stripe.portal_cancel_mode = "immediately"
    page = new_visitor()
    hosted_stripe.install(page.context)
    sign_in_member(page, EMAIL)
    expect_reports_open(page)

    cancel_in_portal(page, screenshot, then_says="Your plan was canceled", name="flow-cancel-now")

    assert hosted_stripe.webhooks.delivered == ["customer.subscription.deleted"]
    expect(page.get_by_text(NOT_ACTIVE)).to_be_visible()
    expect_reports_denied(page)
    screenshot(page, "flow-cancel-now-denied")

"""Server-rendered pages through Django's test client: who sees what, and the page rules
every page keeps (CSRF on each POST form, nothing loaded from another origin)."""

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = ["web:home", "web:pricing", "account_login", "account_signup"]
MEMBER_PAGES = [
    "web:home",
    "web:pricing",
    "web:dashboard",
    "web:billing",
    "account_email",
    "account_change_password",
    "socialaccount_connections",
    "mfa_index",
    "usersessions_list",
]
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.DOTALL | re.IGNORECASE)
ASSET = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)


@pytest.fixture
def member(client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


@pytest.fixture
def lapsed_member(member, subscribe) -> Client:  # type: ignore[no-untyped-def]
    """Cancelled at period end; the period is over and no webhook has come yet."""
    subscribe("pro_monthly", cancel_at_period_end=True, period_end=int(time.time()) - 60)
    return member


@pytest.fixture
def pro_member(member, subscribe) -> Client:  # type: ignore[no-untyped-def]
    subscribe("pro_monthly")
    return member


def page(client: Client, name: str, **params: str) -> str:
    response = client.get(reverse(name), params)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


# --- Who sees what ---------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_render_for_anonymous_visitors(client, catalog, name):
    html = page(client, name)

    assert '<main id="main"' in html
    assert 'href="#main"' in html  # the skip link


def test_home_calls_anonymous_visitors_to_pricing_and_sign_in(client):
    html = page(client, "web:home")

    assert f'href="{reverse("web:pricing")}"' in html
    assert f'href="{reverse("account_login")}"' in html


@pytest.mark.parametrize("name", ["web:dashboard", "web:billing"])
def test_member_pages_send_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_render_for_a_free_member(member, catalog, name):
    page(member, name)


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_render_for_a_paying_member(pro_member, name):
    page(pro_member, name)


@pytest.mark.parametrize(
    "name", ["account_email", "account_change_password", "usersessions_list", "web:billing"]
)
def test_account_pages_share_the_side_nav_and_mark_the_current_one(member, name):
    html = page(member, name)

    nav = re.search(r'<nav class="side-nav" aria-label="Account">.*?</nav>', html, re.DOTALL)
    assert nav is not None
    for label in ("Password", "Connected accounts", "Two-factor", "Sessions", "Billing"):
        assert label in nav.group()
    assert f'href="{reverse(name)}" aria-current="page"' in nav.group()


def test_pricing_offers_anonymous_visitors_a_sign_up(client, catalog):
    html = page(client, "web:pricing")

    assert "Sign up to subscribe" in html
    assert "Your plan" not in html


def test_pricing_offers_a_free_member_checkout_for_each_plan(member, catalog):
    html = page(member, "web:pricing")

    assert html.count(f'action="{reverse("billing:checkout")}"') == 2
    assert f'value="{catalog["pro_monthly"]}"' in html


def test_pricing_yearly_switch_shows_yearly_prices_without_javascript(member, catalog):
    html = page(member, "web:pricing", interval="year")

    assert f'value="{catalog["pro_yearly"]}"' in html
    assert "$120" in html
    assert 'href="?interval=year" aria-current="page"' in html
    assert "Not offered yearly" in html  # Team has no yearly price


def test_pricing_marks_the_current_plan_and_offers_the_portal(pro_member):
    html = page(pro_member, "web:pricing")

    pro = re.search(r'<article class="plan[^"]*plan-current.*?</article>', html, re.DOTALL)
    assert pro is not None
    assert "Pro" in pro.group()
    assert "Your plan" in pro.group()
    assert "Manage plan" in pro.group()
    assert f'action="{reverse("billing:portal")}"' in pro.group()
    assert f'action="{reverse("billing:checkout")}"' not in html


def test_dashboard_shows_a_free_member_the_free_tier(member, catalog):
    html = page(member, "web:dashboard")

    assert "free tier" in html
    assert "Community" in html  # the free feature, named


def test_dashboard_shows_the_plan_renewal_and_feature_names(pro_member):
    html = page(pro_member, "web:dashboard")

    assert "Pro" in html
    assert "Active" in html
    assert "Renews on" in html
    assert "Reports" in html
    assert "Exports" in html


def test_dashboard_counts_the_trial_days_left(member, subscribe):
    subscribe("pro_monthly", status="trialing", trial_end=int(time.time()) + 5 * build.DAY)

    html = page(member, "web:dashboard")

    assert "Trialing" in html
    assert "5 days left" in html


def test_dashboard_past_due_banner_offers_the_portal(member, subscribe):
    subscribe("pro_monthly", status="past_due")

    html = page(member, "web:dashboard")

    banner = re.search(r'<div class="banner[^"]*" role="alert">.*?</div>', html, re.DOTALL)
    assert banner is not None
    assert "payment failed" in banner.group()
    assert f'action="{reverse("billing:portal")}"' in banner.group()
    assert 'Pro <span class="badge badge-warn">Past due</span>' in html  # the plan that lapsed


# --- Billing ------------------------------------------------------------------------


def test_billing_page_without_invoices_shows_an_empty_state(member, catalog):
    html = page(member, "web:billing")

    assert "No invoices yet" in html
    assert "Choose a plan" in html
    assert f'action="{reverse("billing:portal")}"' not in html


def test_billing_page_lists_invoices_with_stripe_links(
    pro_member, subscribe, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")
    invoice = build.invoice(
        fake_stripe,
        subscription_id=sub["id"],
        status="paid",
        number="TG-0042",
        hosted_invoice_url="https://invoice.stripe.test/i/tg42",
        invoice_pdf="https://pay.stripe.test/invoice/tg42/pdf",
    )
    assert send_event("invoice.paid", invoice).status_code == 200

    html = page(pro_member, "web:billing")

    row = re.search(r"<tr>\s*<td>TG-0042</td>.*?</tr>", html, re.DOTALL)
    assert row is not None
    assert 'href="https://invoice.stripe.test/i/tg42"' in row.group()
    assert 'href="https://pay.stripe.test/invoice/tg42/pdf"' in row.group()
    assert "$12" in row.group()
    assert "Paid" in row.group()
    assert "No invoices yet" not in html


def test_billing_page_shows_the_next_invoice_and_the_portal(pro_member):
    html = page(pro_member, "web:billing")

    assert "Next invoice: <strong>$12</strong>" in html
    assert f'action="{reverse("billing:portal")}"' in html


# --- Error pages --------------------------------------------------------------------


def test_unknown_url_gets_the_friendly_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "We can't find that page" in html
    assert f'href="{reverse("web:home")}"' in html


def test_403_page_is_friendly(rf: RequestFactory, user):
    request = rf.get("/")
    request.user = user

    response = defaults.permission_denied(request, PermissionError())

    assert response.status_code == 403
    assert "You can't open this page" in response.content.decode()


def test_500_page_renders_without_a_request_or_context_processors(
    rf: RequestFactory, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = defaults.server_error(rf.get("/"))
        standalone = render_to_string("500.html")

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Something went wrong" in standalone


# --- Rules every page keeps --------------------------------------------------------


def every_page(client: Client, names: list[str]) -> dict[str, str]:
    return {name: page(client, name) for name in names}


@pytest.fixture
def rendered(client, user, subscribe) -> Callable[[], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Every main page, as an anonymous visitor and as a paying member."""

    def render() -> dict[str, str]:
        anonymous = every_page(Client(), PUBLIC_PAGES)
        subscribe("pro_monthly")
        client.force_login(user)
        member = every_page(client, [*MEMBER_PAGES, "web:reports"])
        return {**{f"anon {k}": v for k, v in anonymous.items()}, **member}

    return render


def test_every_post_form_carries_a_csrf_token(rendered):
    checked = 0
    for name, html in rendered().items():
        for form in FORM.findall(html):
            method = re.search(r'method="(\w+)"', form)
            assert method is not None, (name, form[:120])
            if method.group(1).lower() == "post":
                assert 'name="csrfmiddlewaretoken"' in form, (name, form[:200])
                checked += 1
    assert checked > 10


def test_sign_out_is_a_post_form_never_a_link(rendered):
    for name, html in rendered().items():
        assert f'href="{reverse("account_logout")}"' not in html, name


def test_pages_load_no_script_or_stylesheet_from_another_origin(rendered):
    pages: dict[str, Any] = rendered()
    for name, html in pages.items():
        for tag in ASSET.findall(html):
            assert not re.search(r"(?:src|href)=\"(?:https?:)?//", tag), (name, tag)


def test_pricing_offers_checkout_again_after_a_subscription_ended(member, subscribe):
    subscribe("pro_monthly", status="canceled")

    html = page(member, "web:pricing")

    assert "Subscribe to Pro" in html
    assert "Manage plan" not in html


def test_sign_in_shows_a_named_button_with_a_local_icon_per_configured_provider(
    client, github_and_keycloak
):
    html = page(client, "account_login")

    providers = re.search(r'<ul class="providers">.*?</ul>', html, re.DOTALL)
    assert providers is not None
    buttons = re.findall(r"<a [^>]*>.*?</a>", providers.group(), re.DOTALL)
    assert len(buttons) == 2
    assert 'src="/static/icons/github.svg"' in buttons[0]
    assert "GitHub" in buttons[0]
    assert 'src="/static/icons/openid.svg"' in buttons[1]
    assert "Keycloak" in buttons[1]
    assert "Google" not in html


def test_dashboard_after_a_cancelled_period_ended_says_expired_not_active(lapsed_member):
    html = page(lapsed_member, "web:dashboard")

    assert 'Pro <span class="badge badge-bad">Expired</span>' in html
    assert "badge-ok" not in html
    assert "paid features are closed" in html


def test_pricing_after_a_cancelled_period_ended_offers_checkout_not_switch_plan(lapsed_member):
    html = page(lapsed_member, "web:pricing")

    assert "Subscribe to Pro" in html
    assert "Subscribe to Team" in html
    assert "Switch plan" not in html
    assert "Manage plan" not in html


def test_pricing_for_a_past_due_member_changes_plan_in_the_portal(member, subscribe):
    subscribe("pro_monthly", status="past_due")

    html = page(member, "web:pricing")

    assert "Switch plan" in html
    assert f'action="{reverse("billing:checkout")}"' not in html

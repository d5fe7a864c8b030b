"""The Customer Portal redirect and the pricing page (which never calls Stripe)."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def card(html: str, name: str) -> str:
    """The <article> plan card whose heading starts with `name`."""
    for article in re.findall(r"<article.*?</article>", html, flags=re.S):
        if re.search(rf"<h2[^>]*>\s*{name}\b", article):
            return article
    raise AssertionError(f"no plan card for {name}")


# --- portal ----------------------------------------------------------------------------


def test_portal_redirects_to_stripe_for_the_users_customer(
    client, user, stripe_customer, fake_stripe
):
    client.force_login(user)

    response = client.post(reverse("billing:portal"))

    assert response.status_code == 303
    [call] = fake_stripe.calls_to("post", "/v1/billing_portal/sessions")
    assert call.form["customer"] == stripe_customer["id"]
    assert call.form["return_url"] == "http://testserver" + reverse("web:dashboard")
    assert call.idempotency_key
    session_id = next(
        key for key, obj in fake_stripe.objects.items() if obj["object"] == "billing_portal.session"
    )
    assert response["Location"] == fake_stripe.get(session_id)["url"]


def test_portal_for_a_user_without_a_customer_goes_to_pricing_with_a_message(
    client, user, fake_stripe
):
    client.force_login(user)

    response = client.post(reverse("billing:portal"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:pricing")
    assert any("no billing account" in m for m in messages_of(response))
    assert fake_stripe.calls == []


def test_portal_while_stripe_is_unreachable_goes_to_pricing_with_a_message(
    client, user, stripe_customer, fake_stripe
):
    client.force_login(user)
    fake_stripe.unreachable = True

    response = client.post(reverse("billing:portal"))

    assert response["Location"] == reverse("web:pricing")
    assert any("couldn't reach our payment provider" in m for m in messages_of(response))


def test_portal_requires_login(client):
    response = client.post(reverse("billing:portal"))

    assert response.status_code == 302
    assert reverse("web:pricing") not in response["Location"]


# --- pricing ---------------------------------------------------------------------------


def test_pricing_page_shows_monthly_plans_without_calling_stripe(client, catalog, fake_stripe):
    fake_stripe.calls.clear()

    response = client.get(reverse("web:pricing"))

    assert response.status_code == 200
    assert fake_stripe.calls == []
    html = response.content.decode()
    pro, team = card(html, "Pro"), card(html, "Team")
    assert "$12" in pro
    assert "14-day free trial" in pro
    assert "Reports" in pro
    assert "Exports" in pro
    assert "$49" in team
    assert "Team Space" in team
    assert html.index(pro) < html.index(team)  # product metadata `order`
    assert "Sign up to subscribe" in pro


def test_pricing_page_switches_to_yearly_prices(client, catalog, fake_stripe):
    fake_stripe.calls.clear()

    response = client.get(reverse("web:pricing") + "?interval=year")

    assert fake_stripe.calls == []
    html = response.content.decode()
    assert "$120" in card(html, "Pro")
    assert "$12 " not in card(html, "Pro")
    assert "Not offered yearly" in card(html, "Team")


def test_pricing_page_offers_checkout_to_a_signed_in_user(client, user, catalog, fake_stripe):
    client.force_login(user)
    fake_stripe.calls.clear()

    html = client.get(reverse("web:pricing")).content.decode()

    assert fake_stripe.calls == []
    pro = card(html, "Pro")
    assert reverse("billing:checkout") in pro
    assert f'value="{catalog["pro_monthly"]}"' in pro
    assert "Your plan" not in html


def test_pricing_page_marks_the_subscribers_current_plan(client, user, subscribe, fake_stripe):
    subscribe("pro_monthly")
    client.force_login(user)
    fake_stripe.calls.clear()

    html = client.get(reverse("web:pricing")).content.decode()

    assert fake_stripe.calls == []
    assert "Your plan" in card(html, "Pro")
    assert "Manage plan" in card(html, "Pro")
    assert "Your plan" not in card(html, "Team")
    assert "Switch plan" in card(html, "Team")


def test_pricing_page_without_a_catalog_shows_an_empty_state(client, db, fake_stripe):
    response = client.get(reverse("web:pricing"))

    assert response.status_code == 200
    assert "No plans yet" in response.content.decode()
    assert "<article" not in response.content.decode()
    assert fake_stripe.calls == []


def test_pricing_page_does_not_show_an_active_price_that_is_not_marked_sellable(
    client, catalog, fake_stripe
):
    from apps.billing import services
    from tests.billing import stripe_builders as build

    legacy = build.price(
        fake_stripe, product_id="prod_pro", lookup_key=None, amount=100, sellable=False
    )
    services.plans_sync()

    html = client.get(reverse("web:pricing")).content.decode()

    assert "$12" in card(html, "Pro")
    assert "$1 " not in card(html, "Pro")
    assert legacy["id"] not in html

"""Catalog changes (product.*, price.*) reach every subscriber of that product or price."""

import pytest
from django.conf import settings
from django.urls import reverse

from apps.billing.access.resolver import access_for_user
from tests import state_helpers
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def generation(user) -> int:  # type: ignore[no-untyped-def]
    return state_helpers.generation(user.pk)


@pytest.fixture
def bystander(db):  # type: ignore[no-untyped-def]
    """Someone with no subscription: a catalog change must leave their cache alone."""
    person = UserFactory()
    access_for_user(person)
    return person


def test_feature_removed_from_a_product_is_denied_on_the_next_request(
    client, user, subscribe, fake_stripe, send_event
):
    subscribe("pro_monthly")
    client.force_login(user)
    assert client.get(reverse("web:reports")).status_code == 200  # Access now cached
    fake_stripe.features["prod_pro"] = [
        f
        for f in fake_stripe.features["prod_pro"]
        if f["entitlement_feature"]["lookup_key"] != "reports"
    ]

    response = send_event("product.updated", fake_stripe.get("prod_pro"))

    assert response.status_code == 200
    page = client.get(reverse("web:reports"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("web:pricing"))


@pytest.mark.parametrize("event_type", ["product.updated", "product.deleted"])
def test_product_event_invalidates_its_subscribers_only(
    user, subscribe, fake_stripe, send_event, bystander, event_type
):
    subscribe("pro_monthly")
    access_for_user(user)
    before, bystander_before = generation(user), generation(bystander)
    if event_type == "product.deleted":
        fake_stripe.update("prod_pro", deleted=True, active=False)

    response = send_event(event_type, fake_stripe.get("prod_pro"))

    assert response.status_code == 200
    assert generation(user) > before
    assert generation(bystander) == bystander_before


@pytest.mark.parametrize("event_type", ["price.updated", "price.deleted"])
def test_price_event_invalidates_its_subscribers_only(
    user, subscribe, catalog, fake_stripe, send_event, bystander, event_type
):
    subscribe("pro_monthly")
    access_for_user(user)
    before, bystander_before = generation(user), generation(bystander)

    response = send_event(event_type, fake_stripe.get(catalog["pro_monthly"]))

    assert response.status_code == 200
    assert generation(user) > before
    assert generation(bystander) == bystander_before


def test_price_event_of_another_price_leaves_subscribers_alone(
    user, subscribe, catalog, fake_stripe, send_event
):
    subscribe("pro_monthly")
    access_for_user(user)
    before = generation(user)

    response = send_event("price.updated", fake_stripe.get(catalog["team_monthly"]))

    assert response.status_code == 200
    assert generation(user) == before


def test_product_sync_fetches_features_with_the_pinned_api_version(
    catalog, fake_stripe, send_event
):
    fake_stripe.calls.clear()

    assert send_event("product.updated", fake_stripe.get("prod_pro")).status_code == 200

    features = fake_stripe.calls_to("get", "/v1/products/prod_pro/features")
    assert features
    assert {call.stripe_version for call in fake_stripe.calls} == {settings.STRIPE_API_VERSION}

"""Starting Stripe Checkout and landing back on the success page."""

import threading
import time

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from djstripe.models import Customer, Event, Session, Subscription

from apps.billing import services
from apps.billing.access.resolver import access_for_user
from tests.accounts.factories import UserFactory
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def session_creates(fake_stripe):  # type: ignore[no-untyped-def]
    posts = fake_stripe.calls_to("post", "/v1/checkout/sessions")
    return [c for c in posts if c.path == "/v1/checkout/sessions"]


def customer_creates(fake_stripe):  # type: ignore[no-untyped-def]
    return [c for c in fake_stripe.calls_to("post", "/v1/customers") if c.path == "/v1/customers"]


@pytest.fixture
def checkout(client, user, catalog):  # type: ignore[no-untyped-def]
    client.force_login(user)

    def post(lookup_key: str):  # type: ignore[no-untyped-def]
        return client.post(reverse("billing:checkout"), {"price_id": catalog[lookup_key]})

    return post


def test_checkout_redirects_to_a_stripe_subscription_session_for_the_user(
    checkout, user, catalog, fake_stripe
):
    response = checkout("pro_monthly")

    assert response.status_code == 303
    [call] = session_creates(fake_stripe)
    assert response["Location"] == fake_stripe.get(_last_session(fake_stripe))["url"]
    customer = Customer.objects.get(subscriber=user)
    form = call.form
    assert form["mode"] == "subscription"
    assert form["customer"] == customer.id
    assert form["client_reference_id"] == str(user.pk)
    assert form["line_items"] == [{"price": catalog["pro_monthly"], "quantity": "1"}]
    assert form["allow_promotion_codes"] == "true"
    assert form["subscription_data"]["trial_period_days"] == "14"
    assert form["subscription_data"]["metadata"] == {"tollgate_user_id": str(user.pk)}
    assert form["success_url"].startswith("http://testserver" + reverse("billing:checkout_success"))
    assert form["success_url"].endswith("?session_id={CHECKOUT_SESSION_ID}")
    assert form["cancel_url"] == "http://testserver" + reverse("web:pricing")
    assert call.idempotency_key


def _last_session(fake_stripe) -> str:  # type: ignore[no-untyped-def]
    return [k for k, v in fake_stripe.objects.items() if v["object"] == "checkout.session"][-1]


def test_price_without_trial_starts_checkout_without_a_trial(checkout, fake_stripe):
    assert checkout("team_monthly").status_code == 303

    [call] = session_creates(fake_stripe)
    assert "trial_period_days" not in call.form["subscription_data"]


def test_customer_is_created_once_and_reused_for_a_second_checkout(checkout, user, fake_stripe):
    assert checkout("pro_monthly").status_code == 303
    assert checkout("team_monthly").status_code == 303

    [create] = customer_creates(fake_stripe)
    assert create.idempotency_key
    assert create.form["metadata"]["djstripe_subscriber"] == str(user.pk)
    first, second = session_creates(fake_stripe)
    assert first.form["customer"] == second.form["customer"]
    assert Customer.objects.filter(subscriber=user).count() == 1


def test_subscribing_again_to_a_product_already_held_is_refused(
    client, user, subscribe, catalog, fake_stripe
):
    subscribe("pro_monthly")
    client.force_login(user)
    fake_stripe.calls.clear()

    response = client.post(reverse("billing:checkout"), {"price_id": catalog["pro_yearly"]})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:pricing")
    assert any("You already subscribe to Pro" in m for m in messages_of(response))
    assert session_creates(fake_stripe) == []


# --- one trial per customer -----------------------------------------------------------


def ended_trial() -> dict[str, int]:
    now = int(time.time())
    return {"trial_start": now - 20 * build.DAY, "trial_end": now - 6 * build.DAY}


def test_a_customer_whose_trial_ended_gets_no_second_trial(checkout, subscribe, fake_stripe):
    subscribe("pro_monthly", status="canceled", **ended_trial())

    assert checkout("pro_monthly").status_code == 303

    [call] = session_creates(fake_stripe)
    assert "trial_period_days" not in call.form["subscription_data"]


def test_a_trial_only_stripe_knows_of_still_counts(checkout, stripe_customer, catalog, fake_stripe):
    build.subscription(  # in Stripe, never synced here (e.g. its webhooks were missed)
        fake_stripe,
        customer_id=stripe_customer["id"],
        price_ids=[catalog["pro_monthly"]],
        status="canceled",
        **ended_trial(),
    )

    assert checkout("pro_monthly").status_code == 303

    [call] = session_creates(fake_stripe)
    assert "trial_period_days" not in call.form["subscription_data"]
    [listing] = fake_stripe.calls_to("get", "/v1/subscriptions")
    assert listing.query["status"] == "all"
    assert listing.query["customer"] == stripe_customer["id"]


def test_a_customer_who_never_had_a_trial_gets_one(checkout, subscribe, fake_stripe):
    subscribe("team_monthly", status="canceled")  # paid, never trialed

    assert checkout("pro_monthly").status_code == 303

    [call] = session_creates(fake_stripe)
    assert call.form["subscription_data"]["trial_period_days"] == "14"


# --- one open Checkout per customer ---------------------------------------------------


def test_a_second_checkout_for_the_same_price_reuses_the_open_session(checkout, fake_stripe):
    first = checkout("pro_monthly")
    second = checkout("pro_monthly")

    assert first["Location"] == second["Location"]
    assert len(session_creates(fake_stripe)) == 1


@pytest.mark.usefixtures("transactional_db")
def test_two_tabs_starting_checkout_at_once_share_one_session(user, catalog, fake_stripe):
    services.customer_ensure(user=user)
    start = threading.Barrier(2)
    locations: list[str] = []

    def tab() -> None:
        try:
            browser = Client()
            browser.force_login(user)
            start.wait(timeout=10)
            response = browser.post(
                reverse("billing:checkout"), {"price_id": catalog["pro_monthly"]}
            )
            locations.append(response["Location"])
        finally:
            connection.close()

    tabs = [threading.Thread(target=tab) for _ in range(2)]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join(timeout=30)

    assert len(locations) == 2
    assert len(set(locations)) == 1
    assert len(session_creates(fake_stripe)) == 1


def test_a_checkout_for_another_price_expires_the_open_one_first(checkout, fake_stripe):
    checkout("pro_monthly")
    first = _last_session(fake_stripe)

    assert checkout("team_monthly").status_code == 303

    assert fake_stripe.get(first)["status"] == "expired"
    assert fake_stripe.calls_to("post", f"/v1/checkout/sessions/{first}/expire")
    assert len(session_creates(fake_stripe)) == 2


def test_anonymous_checkout_redirects_to_login(client, catalog, fake_stripe):
    response = client.post(reverse("billing:checkout"), {"price_id": catalog["pro_monthly"]})

    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    assert fake_stripe.calls_to("post", "/v1/") == []


def test_checkout_does_not_accept_get(client, user, catalog):
    client.force_login(user)

    assert client.get(reverse("billing:checkout")).status_code == 405


def test_checkout_while_stripe_is_unreachable_shows_a_message_and_can_be_retried(
    checkout, user, fake_stripe
):
    fake_stripe.unreachable = True

    response = checkout("pro_monthly")

    assert response.status_code == 302
    assert response["Location"] == reverse("web:pricing")
    assert any("couldn't reach our payment provider" in m for m in messages_of(response))
    assert not Customer.objects.filter(subscriber=user).exists()

    fake_stripe.unreachable = False
    assert checkout("pro_monthly").status_code == 303


# --- the success page ------------------------------------------------------------------


@pytest.fixture
def completed_session(checkout, user, catalog, fake_stripe):  # type: ignore[no-untyped-def]
    """A Checkout Session the user finished: Stripe created the subscription."""
    checkout("pro_monthly")
    session_id = _last_session(fake_stripe)
    customer_id = fake_stripe.get(session_id)["customer"]
    sub = build.subscription(
        fake_stripe, customer_id=customer_id, price_ids=[catalog["pro_monthly"]]
    )
    fake_stripe.update(session_id, status="complete", payment_status="paid", subscription=sub["id"])
    return session_id, sub


def success_url(session_id: str) -> str:
    return reverse("billing:checkout_success") + f"?session_id={session_id}"


def test_success_page_syncs_the_subscription_before_any_webhook(
    client, user, completed_session, django_capture_on_commit_callbacks
):
    session_id, sub = completed_session
    assert not access_for_user(user).has("reports")  # and now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(success_url(session_id))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")
    assert Subscription.objects.get(id=sub["id"]).customer.subscriber == user
    assert Session.objects.get(id=session_id).subscription_id == sub["id"]
    assert Event.objects.count() == 0
    assert access_for_user(user).has("reports")
    assert any("Welcome aboard" in m for m in messages_of(response))


def test_success_page_refuses_a_session_of_another_user(
    client, completed_session, django_capture_on_commit_callbacks
):
    session_id, sub = completed_session
    intruder = UserFactory()
    client.force_login(intruder)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(success_url(session_id))

    assert response.status_code == 302
    assert any("belongs to another account" in m for m in messages_of(response))
    assert not Subscription.objects.filter(id=sub["id"]).exists()
    assert not Session.objects.filter(id=session_id).exists()
    assert not access_for_user(intruder).has("reports")


def test_success_page_without_a_session_id_goes_back_to_pricing(client, user):
    client.force_login(user)

    response = client.get(reverse("billing:checkout_success") + "?session_id=nope")

    assert response["Location"] == reverse("web:pricing")


def test_success_page_while_stripe_is_unreachable_writes_nothing_and_can_be_retried(
    client, user, completed_session, fake_stripe, django_capture_on_commit_callbacks
):
    session_id, sub = completed_session
    fake_stripe.unreachable = True

    response = client.get(success_url(session_id))

    assert response.status_code == 302
    assert any("couldn't reach our payment provider" in m for m in messages_of(response))
    assert not Subscription.objects.filter(id=sub["id"]).exists()
    assert not Session.objects.filter(id=session_id).exists()

    fake_stripe.unreachable = False
    with django_capture_on_commit_callbacks(execute=True):
        client.get(success_url(session_id))
    assert Subscription.objects.filter(id=sub["id"]).exists()
    assert access_for_user(user).has("reports")


def test_success_page_outage_message_does_not_claim_nothing_was_charged(
    client, completed_session, fake_stripe
):
    session_id, _ = completed_session
    fake_stripe.unreachable = True

    response = client.get(success_url(session_id))

    assert not any("Nothing was charged" in m for m in messages_of(response))


def test_checkout_refuses_an_active_price_that_is_not_marked_sellable(
    client, user, catalog, fake_stripe
):
    from apps.billing import services

    legacy = build.price(
        fake_stripe, product_id="prod_pro", lookup_key=None, amount=100, sellable=False
    )
    services.plans_sync()
    client.force_login(user)
    fake_stripe.calls.clear()

    response = client.post(reverse("billing:checkout"), {"price_id": legacy["id"]})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:pricing")
    assert any("not available" in m for m in messages_of(response))
    assert session_creates(fake_stripe) == []


def test_checkout_is_allowed_again_once_a_cancelled_period_ended(
    client, user, subscribe, catalog, fake_stripe
):
    import time

    subscribe("pro_monthly", cancel_at_period_end=True, period_end=int(time.time()) - 60)
    client.force_login(user)

    response = client.post(reverse("billing:checkout"), {"price_id": catalog["pro_monthly"]})

    assert response.status_code == 303
    assert len(session_creates(fake_stripe)) == 1


@pytest.mark.parametrize(
    ("session_state", "subscription_status", "says", "never_says"),
    [
        (("open", "unpaid"), None, "not finished", "active"),
        (("expired", "unpaid"), None, "expired", "active"),
        (("complete", "unpaid"), "incomplete", "payment is processing", "active"),
        (("complete", "no_payment_required"), "trialing", "trial has started", "is active"),
        (("complete", "paid"), "active", "subscription is active", "trial"),
    ],
)
def test_success_page_tells_the_truth_about_each_checkout_state(
    client,
    user,
    checkout,
    catalog,
    fake_stripe,
    django_capture_on_commit_callbacks,
    session_state,
    subscription_status,
    says,
    never_says,
):
    checkout("pro_monthly")
    session_id = _last_session(fake_stripe)
    status, payment_status = session_state
    fields = {"status": status, "payment_status": payment_status}
    if subscription_status:
        customer_id = fake_stripe.get(session_id)["customer"]
        sub = build.subscription(
            fake_stripe,
            customer_id=customer_id,
            price_ids=[catalog["pro_monthly"]],
            status=subscription_status,
        )
        fields["subscription"] = sub["id"]
    fake_stripe.update(session_id, **fields)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(success_url(session_id))

    shown = " ".join(messages_of(response))
    assert says in shown
    assert never_says not in shown

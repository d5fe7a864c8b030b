"""Repair of missed webhooks, and the admin's view of a user's Access."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Event, Subscription

from apps.billing.access import cache as access_cache
from apps.billing.access.resolver import access_for_user
from tests.accounts.factories import UserFactory
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def test_reconcile_resyncs_a_subscription_whose_webhook_was_missed(
    user, subscribe, fake_stripe, capsys, django_capture_on_commit_callbacks
):
    sub = subscribe("pro_monthly")
    assert access_for_user(user).has("reports")
    fake_stripe.update(sub["id"], status="canceled")  # changed in Stripe; no webhook came

    with django_capture_on_commit_callbacks(execute=True):
        call_command("billing_reconcile", "--no-events")

    assert Subscription.objects.get(id=sub["id"]).stripe_data["status"] == "canceled"
    assert not access_for_user(user).has("reports")
    assert "[1/1]" in capsys.readouterr().out


def test_reconcile_replays_undelivered_events_once(
    user, subscribe, fake_stripe, capsys, django_capture_on_commit_callbacks
):
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="past_due")
    build.event(fake_stripe, "customer.subscription.updated", fake_stripe.get(sub["id"]))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("billing_reconcile", "--since", "1d")
        call_command("billing_reconcile", "--since", "1d")

    assert Event.objects.filter(type="customer.subscription.updated").count() == 1
    assert not access_for_user(user).has("reports")
    out = capsys.readouterr().out
    assert "Replayed 1 event(s)" in out
    assert "Replayed 0 event(s); 1 were already processed" in out


def test_reconcile_refuses_a_window_longer_than_stripe_keeps_events(db):
    with pytest.raises(Exception, match="30 days"):
        call_command("billing_reconcile", "--since", "31d")


def test_admin_user_page_shows_current_access_and_clears_the_cache(
    client, user, subscribe, django_capture_on_commit_callbacks
):
    subscribe("pro_monthly")
    access_for_user(user)  # warm the cache
    assert access_cache.is_cached(user.pk, now=timezone.now())
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert page.status_code == 200
    assert b"Current access" in page.content
    assert b"reports" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:accounts_user_clear_access", args=[user.pk]))
    assert response.status_code == 302
    assert not access_cache.is_cached(user.pk, now=timezone.now())


def test_admin_refresh_from_stripe_resyncs_the_users_subscriptions(
    client, user, subscribe, fake_stripe
):
    sub = subscribe("pro_monthly")
    fake_stripe.update(sub["id"], status="unpaid")
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    client.post(reverse("admin:accounts_user_refresh_access", args=[user.pk]))

    assert Subscription.objects.get(id=sub["id"]).stripe_data["status"] == "unpaid"


def test_reconcile_replays_past_a_failing_event_reports_it_and_exits_non_zero(
    user, subscribe, fake_stripe, capsys, django_capture_on_commit_callbacks
):
    sub = subscribe("pro_monthly")
    gone = {"id": "sub_gone", "object": "subscription", "customer": sub["customer"]}
    broken = build.event(fake_stripe, "customer.subscription.updated", gone)
    fake_stripe.update(broken["id"], created=broken["created"] - 10)  # replayed first
    fake_stripe.update(sub["id"], status="past_due")
    good = build.event(fake_stripe, "customer.subscription.updated", fake_stripe.get(sub["id"]))
    fake_stripe.failing_ids.add("sub_gone")  # Stripe errors on this one only

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="1 event"),
    ):
        call_command("billing_reconcile", "--since", "1d")

    out = capsys.readouterr().out
    assert f"failed {broken['id']}" in out
    assert f"replayed {good['id']}" in out
    assert not Event.objects.filter(id=broken["id"]).exists()
    assert Event.objects.filter(id=good["id"]).exists()
    assert not access_for_user(user).has("reports")

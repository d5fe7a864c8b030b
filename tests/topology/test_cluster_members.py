"""Members on a Redis Cluster: a Stripe webhook revokes on the next request, sessions
and sign-out, allauth's failed-login limit and "last seen" all run against the Cluster
(tests/topology/cluster_fixtures.py)."""

import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection

from apps.accounts import last_seen
from tests.billing import stripe_builders as build
from tests.state_helpers import generation, session_copy_key
from tests.topology.cluster_fixtures import sign_in, verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_cluster")]

TOO_MANY = b"Too many failed login attempts"


def test_payment_failed_webhook_revokes_on_the_next_request(
    client, user, subscribe, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")
    before = generation(user.pk)
    member = Client()
    member.force_login(user)
    assert member.get(reverse("web:reports")).status_code == 200

    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    assert send_event("invoice.payment_failed", invoice).status_code == 200

    denied = member.get(reverse("web:reports"))
    assert denied.status_code == 302
    assert denied["Location"].startswith(reverse("web:pricing"))
    assert generation(user.pk) > before  # moved on the node of the user's slot


def test_sign_in_keeps_the_session_on_the_cluster_and_sign_out_ends_it(user, password):
    verified(user)
    browser = Client()
    assert sign_in(browser, email=user.email, password=password).status_code == 302
    session_key = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert get_redis_connection("sessions").exists(session_copy_key(session_key))
    assert browser.get(reverse("web:home")).wsgi_request.user == user

    stolen = Client()
    stolen.cookies[django_settings.SESSION_COOKIE_NAME] = session_key
    assert browser.post(reverse("account_logout")).status_code == 302

    assert not stolen.get(reverse("web:home")).wsgi_request.user.is_authenticated


def test_allauths_failed_login_limit_is_counted_on_the_cluster(user, password, client):
    verified(user)
    for _ in range(5):
        failed = sign_in(client, email=user.email, password="wrong password")
        assert failed.status_code == 200
        assert TOO_MANY not in failed.content

    refused = sign_in(client, email=user.email, password=password)

    assert TOO_MANY in refused.content
    assert not client.get(reverse("web:home")).wsgi_request.user.is_authenticated


def test_last_seen_buckets_are_sent_and_written_on_the_cluster(user, password):
    from allauth.usersessions.models import UserSession

    verified(user)
    browser = Client()
    assert sign_in(browser, email=user.email, password=password).status_code == 302
    browser.get(reverse("web:home"))
    row = UserSession.objects.get(user=user)
    row.last_seen_at = row.last_seen_at.replace(year=2000)
    row.save(update_fields=["last_seen_at"])

    last_seen.record(row.session_key, now=time.time())
    last_seen.flush_for([row.session_key])

    row.refresh_from_db()
    assert row.last_seen_at.year > 2000

"""The guard in front of dj-stripe: the signature is checked before anything is stored
or logged, dj-stripe's DEBUG secret override cannot be used, bodies are capped at what
Stripe sends, and rejections are rate-limited per client IP (failing open)."""

import json
import logging

import pytest
from django.conf import settings
from django.core.cache import cache
from djstripe.models import Event, WebhookEventTrigger
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.billing import webhook_guard
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db

MARKER = "tollgate-body-marker-4f1c"


@pytest.fixture
def event(subscribe, fake_stripe):  # type: ignore[no-untyped-def]
    sub = subscribe("pro_monthly")
    data = build.event(fake_stripe, "customer.subscription.updated", fake_stripe.get(sub["id"]))
    data["request"] = {"id": None, "idempotency_key": MARKER}
    return data


@pytest.fixture
def logs(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    for name in ("djstripe", "django", "django.request", "apps", "stripe"):
        caplog.set_level(logging.DEBUG, logger=name)

    def text() -> str:
        return "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)

    return text


def post(client, url, body, *, secret, ip="203.0.113.7", **headers):  # type: ignore[no-untyped-def]
    signed = {"Stripe-Signature": build.sign(body, secret=secret), **headers}
    return client.post(url, body, content_type="application/json", headers=signed, REMOTE_ADDR=ip)


def test_bad_signature_stores_no_trigger_row_and_logs_no_body(client, webhook_url, event, logs):
    body = json.dumps(event)

    response = post(client, webhook_url, body, secret="whsec_someone_else")

    assert response.status_code == 400
    assert WebhookEventTrigger.objects.count() == 0
    assert MARKER not in logs()


def test_unsigned_body_without_an_id_is_not_logged_whole(client, webhook_url, logs):
    body = json.dumps({"note": MARKER})

    response = post(client, webhook_url, body, secret="whsec_someone_else")

    assert response.status_code == 400
    assert WebhookEventTrigger.objects.count() == 0
    assert MARKER not in logs()


def test_djstripe_secret_header_cannot_forge_a_webhook_in_debug(
    client, webhook_url, event, settings
):
    settings.DEBUG = True
    forged = "whsec_chosen_by_the_attacker"
    body = json.dumps(event)

    response = post(
        client, webhook_url, body, secret=forged, **{"X-Djstripe-Webhook-Secret": forged}
    )

    assert response.status_code == 400
    assert not Event.objects.filter(id=event["id"]).exists()
    assert WebhookEventTrigger.objects.count() == 0


def test_djstripe_secret_header_is_refused_even_with_a_valid_signature(
    client, webhook_url, event, settings
):
    settings.DEBUG = True
    body = json.dumps(event)

    response = post(
        client,
        webhook_url,
        body,
        secret=settings.STRIPE_WEBHOOK_SECRET,
        **{"X-Djstripe-Webhook-Secret": settings.STRIPE_WEBHOOK_SECRET},
    )

    assert response.status_code == 400
    assert not Event.objects.filter(id=event["id"]).exists()


def test_default_size_limit_refuses_a_signed_body_larger_than_64_kib(client, webhook_url, event):
    assert settings.BILLING_WEBHOOK_MAX_BYTES == 64 * 1024
    body = json.dumps({**event, "padding": "x" * 65 * 1024})

    response = post(client, webhook_url, body, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 413
    assert WebhookEventTrigger.objects.count() == 0


def test_a_stripe_sized_event_is_accepted(client, webhook_url, event):
    # Stripe caps embedded lists (10 items) in event payloads; 40 KiB is a large event.
    body = json.dumps({**event, "padding": "x" * 40 * 1024})

    response = post(client, webhook_url, body, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 200


def test_rejections_past_the_limit_answer_429_for_that_ip_only(
    client, webhook_url, event, settings
):
    settings.BILLING_WEBHOOK_REJECTION_RATE = "3/10m"
    body = json.dumps(event)

    answers = [post(client, webhook_url, body, secret="whsec_wrong").status_code for _ in range(5)]
    other_ip = post(client, webhook_url, body, secret="whsec_wrong", ip="198.51.100.9")

    assert answers == [400, 400, 400, 429, 429]
    assert other_ip.status_code == 400


def test_valid_delivery_passes_even_from_an_ip_over_the_rejection_limit(
    client, webhook_url, event, settings, django_capture_on_commit_callbacks
):
    # Stripe's delivery IPs also carry other accounts' events aimed at our URL, which
    # fail our signature: a valid signature is never blocked by the counter.
    settings.BILLING_WEBHOOK_REJECTION_RATE = "2/10m"
    body = json.dumps(event)
    for _ in range(3):
        post(client, webhook_url, body, secret="whsec_wrong")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, webhook_url, body, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert response.status_code == 200
    assert Event.objects.filter(id=event["id"]).exists()


def test_rejection_counter_outage_fails_open(
    client, webhook_url, event, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("simulated outage")

    monkeypatch.setattr(webhook_guard.cache, "add", down)
    monkeypatch.setattr(webhook_guard.cache, "incr", down)
    body = json.dumps(event)

    refused = post(client, webhook_url, body, secret="whsec_wrong")
    with django_capture_on_commit_callbacks(execute=True):
        accepted = post(client, webhook_url, body, secret=settings.STRIPE_WEBHOOK_SECRET)

    assert refused.status_code == 400
    assert accepted.status_code == 200


def test_rejection_counter_expires_with_its_window(client, webhook_url, event, settings):
    settings.BILLING_WEBHOOK_REJECTION_RATE = "1/10m"
    body = json.dumps(event)
    post(client, webhook_url, body, secret="whsec_wrong")
    assert post(client, webhook_url, body, secret="whsec_wrong").status_code == 429

    assert 0 < cache.ttl(webhook_guard.rejection_key("203.0.113.7")) <= 600
    cache.delete(webhook_guard.rejection_key("203.0.113.7"))  # as when the window ends

    assert post(client, webhook_url, body, secret="whsec_wrong").status_code == 400

"""Micro-benchmarks: the Access resolver (hit and miss) and webhook processing."""

import time
import timeit
from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.billing import services
from apps.billing.access.resolver import access_compute, access_for_user
from apps.core import state
from apps.core.near_cache import near_cache
from bench.fixtures import EMAIL, FAKE
from tests.billing import stripe_builders as build


def _per_call_us(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=3)) / number * 1e6


def access_resolver() -> dict[str, str]:
    user = User.objects.get(email=EMAIL)
    access_for_user(user)  # warm
    access_for_user(user)  # (re-reads what the first call wrote)
    hit = _per_call_us(lambda: access_for_user(user), 2000)

    def hit_on_a_cold_thread() -> None:
        near_cache().clear()
        access_for_user(user)

    mget_hit = _per_call_us(hit_on_a_cold_thread, 2000)
    miss = _per_call_us(lambda: access_compute(user.pk), 300)

    def invalidate_then_resolve() -> None:
        state.invalidate([state.user(user.pk)])
        access_for_user(user)

    cold = _per_call_us(invalidate_then_resolve, 300)
    return {
        "access_for_user hit (near cache)": f"{hit:.0f} us",
        "access_for_user hit (one MGET, cold thread)": f"{mget_hit:.0f} us",
        "access_compute miss (Postgres)": f"{miss:.0f} us",
        "invalidate + resolve + write back": f"{cold:.0f} us",
    }


def webhooks(events: int = 200) -> dict[str, str]:
    """Signed customer.subscription.updated events through dj-stripe's real endpoint."""
    user = User.objects.get(email=EMAIL)
    endpoint, _ = services.webhook_endpoint_ensure(base_url="http://127.0.0.1")
    url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    subscription = next(o for o in FAKE.objects.values() if o.get("object") == "subscription")
    client = Client(HTTP_HOST="127.0.0.1")
    payloads = [
        build.event(FAKE, "customer.subscription.updated", subscription) for _ in range(events)
    ]
    started = time.perf_counter()
    for payload in payloads:
        response = build.post_webhook(client, url, payload, secret=settings.STRIPE_WEBHOOK_SECRET)
        assert response.status_code == 200, response.status_code
    elapsed = time.perf_counter() - started
    assert access_for_user(user).has("reports")
    return {
        "webhook events/s (endpoint + sync + invalidate)": f"{events / elapsed:.0f}",
        "webhook ms/event": f"{elapsed / events * 1000:.1f}",
    }


def run() -> dict[str, str]:
    return {**access_resolver(), **webhooks()}

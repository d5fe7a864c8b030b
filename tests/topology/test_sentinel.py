"""Tollgate on Redis Sentinel (tests/topology/sentinel.py: a primary, a replica, three
sentinels), as REDIS_SENTINELS configures it (apps/core/sentinel.py): gated pages and
revocation through Sentinel, the near cache across a failover, WAIT keeping an
invalidation owed, a write the old primary acknowledged and the failover lost, and a
failover under load."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection
from redis.sentinel import SentinelConnectionPool

from apps.core import sentinel
from apps.core.models import OwedInvalidation
from apps.core.near_cache import NearCache, near_cache
from tests.billing import stripe_builders as build
from tests.reliability.conftest import member, outage, signed_in  # noqa: F401 (fixtures)
from tests.state_helpers import generation
from tests.topology.sentinel_fixtures import primary_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_sentinel")]


def reports_open(device: Client) -> bool:
    response = device.get(reverse("web:reports"))
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def signed_in_as(device: Client, user) -> bool:  # type: ignore[no-untyped-def]
    return bool(device.get(reverse("web:home")).wsgi_request.user == user)


def post_webhook(webhook_url: str, fake_stripe, event_type: str, obj: dict) -> int:  # type: ignore[no-untyped-def,type-arg]
    """As Stripe does: a response of its own, committed for real (transaction=True)."""
    event = build.event(fake_stripe, event_type, obj)
    stripe = Client(raise_request_exception=False)
    response = build.post_webhook(stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET)
    return int(response.status_code)


def payment_failed(fake_stripe, webhook_url, sub) -> int:  # type: ignore[no-untyped-def]
    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    return post_webhook(webhook_url, fake_stripe, "invoice.payment_failed", invoice)


def test_both_aliases_and_the_near_cache_connect_through_the_sentinels(on_sentinel):
    for alias in ("default", "sessions"):
        redis = get_redis_connection(alias)
        assert isinstance(redis.connection_pool, SentinelConnectionPool)
        assert redis.ping()
    assert primary_port() == on_sentinel.primary
    assert isinstance(near_cache(), NearCache)


@pytest.mark.django_db(transaction=True)
def test_a_gated_page_works_and_a_payment_failed_webhook_denies_the_next_request(
    on_sentinel, subscribe, signed_in, member, fake_stripe, webhook_url
):
    sub = subscribe("pro_monthly")
    device = signed_in()
    before = generation(member.pk)
    assert reports_open(device)

    assert payment_failed(fake_stripe, webhook_url, sub) == 200

    assert not reports_open(device)
    assert generation(member.pk) > before
    # WAIT confirmed it: the replica has the move too, and nothing is owed.
    assert on_sentinel.node(on_sentinel.replica).get(_generation_key(member.pk)) is not None
    assert not OwedInvalidation.objects.exists()


def _generation_key(user_id: int) -> str:
    from tests.state_helpers import generation_key

    return generation_key(user_id)


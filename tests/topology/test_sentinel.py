"""Tollgate on Redis Sentinel (tests/topology/sentinel.py: a primary, a replica, three
sentinels), as REDIS_SENTINELS configures it (apps/core/sentinel.py): gated pages and
revocation through Sentinel, the near cache across a failover, WAIT keeping an
invalidation owed, a write the old primary acknowledged and the failover lost, and a
failover under load."""

import threading
import time

import pytest
from django import db
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection
from redis.sentinel import SentinelConnectionPool

from apps.core.models import OwedInvalidation
from apps.core.near_cache import NearCache, near_cache
from apps.core.state import guard
from tests.billing import stripe_builders as build
from tests.reliability.conftest import outage  # noqa: F401 (a fresh circuit breaker each test)
from tests.state_helpers import access_key, generation, generation_key, session_copy_key
from tests.topology import sentinel as topology
from tests.topology.sentinel import RedisSentinelTopology
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
        # Reads too go to the primary (django-redis would read from a lagging replica).
        assert caches[alias].client.get_client(write=False).connection_pool.is_master
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
    assert int(on_sentinel.node(on_sentinel.replica).get(generation_key(member.pk))) > before
    assert not OwedInvalidation.objects.exists()


def test_a_host_without_redis_server_is_told_which_package_to_install(monkeypatch):
    monkeypatch.setattr(topology, "REDIS_SERVER", "/nonexistent/redis-server")

    with pytest.raises(RuntimeError, match="apt-get install redis-server"):
        RedisSentinelTopology().start()


def test_the_near_cache_connects_to_the_primary_the_sentinels_name(on_sentinel, user):
    keys = [f"{{u:{user.pk}}}:probe"]
    near_cache().mget(keys)

    conn = near_cache()._local.state.conn
    assert (conn.host, conn.port) == ("127.0.0.1", on_sentinel.primary)
    assert _tracking_clients(on_sentinel, on_sentinel.primary) >= 1


def _tracking_clients(topology, port: int) -> int:  # type: ignore[no-untyped-def]
    """Connections to `port` with CLIENT TRACKING on (flag `t`)."""
    return sum("t" in entry["flags"] for entry in topology.node(port).client_list())


@pytest.fixture
def quick_retry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Try Redis again on the very next request after a failure (not 2 s later)."""
    from apps.core import redis_outage

    monkeypatch.setattr(redis_outage, "RETRY_AFTER_SECONDS", 0)


@pytest.mark.django_db(transaction=True)
def test_after_a_failover_the_near_cache_drops_its_copies_retracks_and_a_revocation_denies(
    on_sentinel, subscribe, signed_in, member, fake_stripe, webhook_url, quick_retry
):
    sub = subscribe("pro_monthly")
    device = signed_in()
    assert [reports_open(device) for _ in range(2)] == [True, True]
    state = near_cache()._local.state
    assert state.copies  # served from copies...
    assert state.conn.port == on_sentinel.primary  # ...of the primary's keys
    old = on_sentinel.primary

    on_sentinel.failover()

    assert reports_open(device)  # still a member, still granted
    state = near_cache()._local.state
    assert state.conn.port == on_sentinel.primary != old  # reconnected to the new primary
    assert state.copies  # fetched again there, under tracking there
    assert _tracking_clients(on_sentinel, on_sentinel.primary) >= 1
    assert payment_failed(fake_stripe, webhook_url, sub) == 200
    assert not reports_open(device)
    assert not OwedInvalidation.objects.exists()


def test_members_stay_signed_in_across_a_failover(on_sentinel, signed_in, member, quick_retry):
    laptop, phone = signed_in(), signed_in()
    assert signed_in_as(laptop, member)
    assert signed_in_as(phone, member)

    on_sentinel.failover()

    assert [signed_in_as(device, member) for device in (laptop, phone) for _ in range(2)] == [
        True
    ] * 4


WAIT_UNSATISFIED = {
    "replica paused": "pause",
    "more replicas asked for than exist": "two",
}


@pytest.mark.parametrize("how", WAIT_UNSATISFIED.values(), ids=WAIT_UNSATISFIED.keys())
@pytest.mark.django_db(transaction=True)
def test_a_revocation_whose_wait_fails_stays_owed_answers_5xx_and_grants_nothing(
    on_sentinel, subscribe, signed_in, member, fake_stripe, webhook_url, settings, quick_retry, how
):
    sub = subscribe("pro_monthly")
    device = signed_in()
    assert reports_open(device)
    if how == "pause":
        on_sentinel.pause(on_sentinel.replica)
    else:
        settings.REDIS_WAIT_REPLICAS = 2
    try:
        assert payment_failed(fake_stripe, webhook_url, sub) >= 500  # Stripe retries
        assert OwedInvalidation.objects.exists()
        assert [reports_open(device) for _ in range(3)] == [False] * 3
    finally:
        on_sentinel.resume(on_sentinel.replica)
    settings.REDIS_WAIT_REPLICAS = 1

    assert not reports_open(device)
    assert not OwedInvalidation.objects.exists()  # paid once the replica acknowledged


@pytest.mark.django_db(transaction=True)
def test_a_revocation_the_old_primary_acknowledged_and_the_failover_lost_is_paid_first(
    on_sentinel, subscribe, signed_in, member, fake_stripe, webhook_url
):
    sub = subscribe("pro_monthly")
    device = signed_in()
    assert reports_open(device)
    key = generation_key(member.pk)
    before = int(on_sentinel.node(on_sentinel.primary).get(key) or 0)

    on_sentinel.cut_replica()  # the primary takes writes its replica never sees
    assert payment_failed(fake_stripe, webhook_url, sub) >= 500
    assert int(on_sentinel.node(on_sentinel.primary).get(key)) == before + 1  # acknowledged
    guard.redis_outage.succeeded()  # as a process that never saw Redis fail
    on_sentinel.failover(replica_was_cut=True)

    # The new primary never got the move: its cached Access would still grant...
    assert int(on_sentinel.node(on_sentinel.primary).get(key) or 0) == before
    assert on_sentinel.node(on_sentinel.primary).exists(access_key(member.pk))
    # ...but the first read after finding a new primary pays what is owed.
    assert not reports_open(device)
    assert int(on_sentinel.node(on_sentinel.primary).get(key)) > before
    assert not OwedInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_sign_out_whose_delete_the_failover_lost_leaves_no_zombie_session(
    on_sentinel, signed_in, member
):
    laptop = signed_in()
    session_key = laptop.cookies[settings.SESSION_COOKIE_NAME].value
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert signed_in_as(stolen, member)
    copy = session_copy_key(session_key)

    on_sentinel.cut_replica()
    assert laptop.post(reverse("account_logout")).status_code == 302
    assert OwedInvalidation.objects.exists()  # WAIT failed: the end is owed
    guard.redis_outage.succeeded()  # as a process that never saw Redis fail
    on_sentinel.failover(replica_was_cut=True)

    assert on_sentinel.node(on_sentinel.primary).exists(copy)  # the DEL was lost
    assert not stolen.get(reverse("web:home")).wsgi_request.user.is_authenticated
    assert not OwedInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failover_under_load_grants_nothing_stale_and_signs_nobody_out(
    on_sentinel, subscribe, signed_in, member, fake_stripe, webhook_url, quick_retry
):
    """Three threads (each its own worker thread: near cache, connections) ask for a gated
    page without pause while the primary is killed and replaced; then the member stops
    paying. After the webhook returns, no request may be granted; nobody is signed out."""
    sub = subscribe("pro_monthly")
    devices = [signed_in() for _ in range(3)]
    revoked_at = float("inf")
    stop = threading.Event()
    seen: list[tuple[float, int, bool]] = []  # (sent at, status, signed in)

    def load(device: Client) -> None:
        try:
            while not stop.is_set():
                sent_at = time.monotonic()
                response = device.get(reverse("web:reports"))
                seen.append((sent_at, response.status_code, response.wsgi_request.user == member))
        finally:
            db.connection.close()

    threads = [threading.Thread(target=load, args=(device,)) for device in devices]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        on_sentinel.failover()
        time.sleep(0.5)
        assert payment_failed(fake_stripe, webhook_url, sub) == 200
        revoked_at = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    stale = [s for sent_at, s, _ in seen if sent_at > revoked_at and s == 200]
    errors = [s for _, s, _ in seen if s not in (200, 302)]
    granted_before = [s for sent_at, s, _ in seen if sent_at < revoked_at and s == 200]
    denied_after = [s for sent_at, s, _ in seen if sent_at > revoked_at and s == 302]
    assert stale == []
    assert errors == []
    assert all(signed for _, _, signed in seen)  # no member was signed out
    assert len(granted_before) > 10
    assert len(denied_after) > 10

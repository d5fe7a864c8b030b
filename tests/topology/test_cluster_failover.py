"""A Redis Cluster primary failing over to its replica, under a signed-in paying member:
three primaries with a replica each (tests/topology/cluster.py), REDIS_CLUSTER's client.

What must hold: the member stays signed in across the failover, every answer in between
is one Postgres would give (never a stale grant), and a revocation after the failover,
or one made while the member's primary was gone, denies the next request."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.accounts import last_seen
from apps.core import redis_cluster, redis_outage
from apps.core.models import OwedInvalidation
from tests.billing import stripe_builders as build
from tests.reliability.conftest import outage  # noqa: F401 (a fresh circuit breaker each test)
from tests.state_helpers import generation_key
from tests.topology.cluster import RedisClusterNodes
from tests.topology.cluster_fixtures import on

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def replicated() -> Iterator[RedisClusterNodes]:
    nodes = RedisClusterNodes(primaries=3, replicas=1).start()
    yield nodes
    redis_cluster.forget()
    nodes.stop()


@pytest.fixture
def member(replicated, settings, user, subscribe) -> Iterator[tuple[Client, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A paying member signed in on the replicated Cluster, their gated page open."""
    settings.CACHES = on(replicated)
    settings.REDIS_WAIT_REPLICAS = 1  # as the README says for a Cluster with replicas
    settings.REDIS_WAIT_TIMEOUT = 400  # niced servers on a loaded machine
    last_seen.forget()
    sub = subscribe("pro_monthly")
    browser = Client()
    browser.force_login(user)
    assert browser.get(reverse("web:reports")).status_code == 200
    yield browser, sub
    last_seen.forget()
    replicated.revive()  # a node a test killed is back, as a replica: the next test has one


def primary_of_user(user_id: int) -> int:
    return int(get_redis_connection("default").get_node_from_key(generation_key(user_id)).port)


def revoke(fake_stripe, send_event, sub: dict[str, Any]) -> Any:  # type: ignore[no-untyped-def]
    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    return send_event("invoice.payment_failed", invoice)


def test_after_an_operators_failover_the_member_stays_signed_in_and_a_revocation_lands(
    replicated, member, user, fake_stripe, send_event
):
    browser, sub = member
    old = primary_of_user(user.pk)

    new = replicated.fail_over(old)

    page = browser.get(reverse("web:reports"))
    assert page.status_code == 200
    assert page.wsgi_request.user == user  # the session survived on the replica
    assert primary_of_user(user.pk) == new  # the client followed the new slot map
    assert revoke(fake_stripe, send_event, sub).status_code == 200
    assert browser.get(reverse("web:reports")).status_code == 302


def test_a_crashed_primary_costs_speed_not_correctness(
    replicated, member, user, fake_stripe, send_event, monkeypatch
):
    """Between the crash and the promotion the member's slot has no primary: pages are
    answered from Postgres, and a revocation made then is owed, not lost."""
    browser, sub = member
    old = primary_of_user(user.pk)
    replica = replicated.replica_of(old)
    replicated.kill(old)

    during = browser.get(reverse("web:reports"))  # no primary for the slot yet
    assert during.status_code == 200
    assert during.wsgi_request.user == user
    with contextlib.suppress(RedisError):  # Redis could not take it: owed in Postgres
        revoke(fake_stripe, send_event, sub)
    assert browser.get(reverse("web:reports")).status_code == 302  # Postgres decides

    replicated.wait_promoted(replica, dead=old)
    # Past the circuit breaker's pause after the last failure: Redis is read again.
    monkeypatch.setattr(redis_outage, "RETRY_AFTER_SECONDS", 0.0)
    alone = browser.get(reverse("web:reports"))  # the new primary has no replica yet

    assert alone.status_code == 302  # no cached grant came back with the new primary
    assert alone.wsgi_request.user == user
    assert primary_of_user(user.pk) == replica
    assert OwedInvalidation.objects.exists()  # WAIT: with no replica it cannot count yet

    replicated.revive()  # the old primary is back, as the new one's replica
    after = browser.get(reverse("web:reports"))

    assert after.status_code == 302
    assert not OwedInvalidation.objects.exists()  # paid once a replica could take it
    assert revoke(fake_stripe, send_event, sub).status_code == 200  # Stripe's retry


@pytest.mark.parametrize("wait_replicas", [1, 0], ids=["wait", "no-wait"])
def test_a_revocation_the_crashed_primary_acknowledged_and_never_replicated(
    replicated, member, user, fake_stripe, send_event, monkeypatch, settings, wait_replicas
):
    """The lost-write case: the primary takes the revocation's INCR and dies before its
    replica has it. With REDIS_WAIT_REPLICAS=1 the INCR did not count as taken (no replica
    acknowledged it), so it stays owed and is paid on the promoted replica: no stale grant.
    With 0 (no WAIT, the default on a Cluster) the webhook's 200 was a promise the crash
    broke, and the old grant is served again from the promoted replica's cache."""
    settings.REDIS_WAIT_REPLICAS = wait_replicas
    browser, sub = member
    old = primary_of_user(user.pk)
    replica = replicated.replica_of(old)
    replicated.cut_replica(replica)

    answered = None
    with contextlib.suppress(RedisError):  # WAIT: no replica has it, so it stays owed
        answered = revoke(fake_stripe, send_event, sub).status_code
    replicated.kill(old)
    replicated.wait_promoted(replica, dead=old)
    replicated.mend_replica(replica)
    monkeypatch.setattr(redis_outage, "RETRY_AFTER_SECONDS", 0.0)
    after = browser.get(reverse("web:reports"))

    if wait_replicas:
        assert answered is None  # 5xx: Stripe delivers it again
        assert after.status_code == 302  # decided from Postgres while it is owed
        replicated.revive()
        assert browser.get(reverse("web:reports")).status_code == 302
        assert not OwedInvalidation.objects.exists()  # paid on the promoted replica
    else:
        assert answered == 200
        assert after.status_code == 200  # the stale grant REDIS_WAIT_REPLICAS=1 prevents

"""Tollgate on a running Redis Cluster of three primaries (tests/topology/cluster.py),
through REDIS_CLUSTER's client (apps/core/redis_cluster.py): one slot per request's MGET,
invalidation across slots and nodes, a moved slot, a stopped Cluster, the checks."""

import copy
import logging

import pytest
from django.core.checks import run_checks
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import MovedError

from apps.core import redis_cluster, state
from apps.core.models import OwedInvalidation
from apps.core.near_cache import Passthrough, near_cache
from apps.core.state import invalidation
from tests.accounts.factories import UserFactory
from tests.billing import stripe_builders as build
from tests.reliability.conftest import outage  # noqa: F401 (a fresh circuit breaker each test)
from tests.settings_process import PRODUCTION_ENV, django_process
from tests.state_helpers import generation, generation_key
from tests.topology import cluster as topology
from tests.topology.cluster import RedisClusterNodes
from tests.topology.cluster_fixtures import node_of, on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_cluster")]


def test_the_client_is_a_cluster_client_and_the_near_cache_turns_itself_off(
    on_cluster, caplog, client
):
    with caplog.at_level(logging.WARNING, logger="tollgate.redis"):
        cache = near_cache()

    assert isinstance(on_cluster, RedisCluster)
    assert len(on_cluster.get_primaries()) == 3
    assert isinstance(cache, Passthrough)
    assert "REDIS_CLUSTER is on: the near cache is off" in caplog.text
    assert client.get("/readyz").status_code == 200  # PING on every node


def test_a_signed_in_gated_page_reads_its_keys_in_one_mget_in_one_slot(
    client, user, subscribe, mgets
):
    subscribe("pro_monthly")
    client.force_login(user)

    responses = [client.get(reverse("web:reports")) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    gated = [keys for keys in mgets if any(":s:" in key for key in keys)]
    assert len(gated) >= 3
    for keys in gated:
        assert len(keys) >= 4
        assert all(f"{{u:{user.pk}}}" in key for key in keys)
        assert len({key_slot(key.encode()) for key in keys}) == 1  # no CROSSSLOT possible
    # The last page was answered from the Cluster: every value was there to read.
    values = dict(zip(gated[-1], get_redis_connection("default").mget(gated[-1]), strict=True))
    assert all(value for key, value in values.items() if not key.endswith(":gen"))


def test_one_invalidation_moves_subjects_in_slots_on_different_nodes(on_cluster):
    users = [UserFactory() for _ in range(12)]
    nodes = {node_of(on_cluster, generation_key(user.pk)) for user in users}
    assert len(nodes) >= 2, "twelve users should spread over the three primaries"
    before = {user.pk: generation(user.pk) for user in users}
    subjects = [state.user(user.pk) for user in users]
    subjects += [state.session(user.pk, f"{user.pk}-{'x' * 36}") for user in users[:3]]

    invalidation.invalidate(subjects)

    assert all(generation(user.pk) == before[user.pk] + 1 for user in users)
    assert all(on_cluster.ttl(generation_key(user.pk)) > 0 for user in users)


def test_owed_invalidations_of_many_users_are_paid_on_the_cluster(on_cluster):
    users = [UserFactory() for _ in range(6)]
    before = {user.pk: generation(user.pk) for user in users}
    OwedInvalidation.objects.bulk_create(
        [OwedInvalidation(subject=state.user(user.pk).name) for user in users]
    )

    owed = OwedInvalidation.objects.count()  # the factory's own writes owe some too

    assert invalidation.owed_pay() == owed >= 6

    assert all(generation(user.pk) == before[user.pk] + 1 for user in users)
    assert not OwedInvalidation.objects.exists()


def test_a_cluster_url_with_a_database_number_fails_the_system_check(cluster_nodes, settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"{cluster_nodes.url}/15"
    settings.CACHES = caches

    errors = [message for message in run_checks() if message.id == "core.E004"]

    assert errors
    assert "REDIS_URL" in errors[0].msg


def test_a_host_without_redis_server_is_told_which_package_to_install(monkeypatch):
    monkeypatch.setattr(topology, "REDIS_SERVER", "/nonexistent/redis-server")

    with pytest.raises(RuntimeError, match="apt-get install redis-server redis-tools"):
        RedisClusterNodes().start()


def test_with_the_cluster_stopped_members_stay_signed_in_and_postgres_decides(
    user, subscribe, settings, client
):
    subscribe("pro_monthly")
    nodes = RedisClusterNodes(primaries=3).start()
    try:
        settings.CACHES = on(nodes)
        member = Client()
        member.force_login(user)
        assert member.get(reverse("web:reports")).status_code == 200

        nodes.stop()
        pages = [member.get(reverse("web:reports")) for _ in range(2)]

        assert [page.status_code for page in pages] == [200, 200]
        assert pages[-1].wsgi_request.user == user
        assert client.get(reverse("web:home")).status_code == 200
        assert client.get("/readyz").status_code == 503
    finally:
        nodes.stop()
        redis_cluster.forget()


def test_a_slot_moved_to_another_node_is_followed_and_revocation_still_lands(
    cluster_nodes, on_cluster, user, subscribe, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")
    member = Client()
    member.force_login(user)
    assert member.get(reverse("web:reports")).status_code == 200
    key = generation_key(user.pk)
    source = on_cluster.get_node_from_key(key).port
    target = next(port for port in cluster_nodes.ports if port != source)

    cluster_nodes.move_slot(key_slot(key.encode()), source=source, target=target)

    assert member.get(reverse("web:reports")).status_code == 200  # MOVED, followed
    assert on_cluster.get_node_from_key(key).port == target
    fake_stripe.update(sub["id"], status="past_due")
    invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    assert send_event("invoice.payment_failed", invoice).status_code == 200
    denied = member.get(reverse("web:reports"))
    assert denied.status_code == 302
    assert cluster_nodes.node(target).exists(key)  # the move landed on the slot's new owner
    with pytest.raises(MovedError):  # the old owner now only points at the new one
        cluster_nodes.node(source).exists(key)


@pytest.mark.parametrize(("database", "passes"), [("", True), ("/3", False)])
def test_redis_cluster_on_in_production_uses_the_cluster_client_or_names_redis_url(
    cluster_nodes, database, passes
):
    code = (
        "from django.conf import settings; from django.core.management import call_command; "
        "print({a['OPTIONS']['CLIENT_CLASS'] for a in settings.CACHES.values()}); "
        "call_command('check')"
    )
    result = django_process(
        code, **{**PRODUCTION_ENV, "REDIS_CLUSTER": "on", "REDIS_URL": cluster_nodes.url + database}
    )

    assert "{'apps.core.redis_cluster.ClusterClient'}" in result.stdout
    assert (result.returncode == 0) is passes, result.stderr
    if not passes:
        assert "core.E004" in result.stderr
        assert "REDIS_URL" in result.stderr

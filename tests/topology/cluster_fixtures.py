"""Fixtures for the Redis Cluster tests: a three-primary Cluster per test module
(tests/topology/cluster.py) and every cache alias pointed at it, as REDIS_CLUSTER=on
configures them (`on_cluster`, requested by each Cluster test module: not autouse, so
other topologies' tests in this package are left alone); tests/topology/conftest.py
makes them visible. Plus the helpers those tests share."""

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_redis import get_redis_connection
from redis.cluster import RedisCluster

from apps.accounts import last_seen
from apps.core import redis_cluster
from tests.topology.cluster import RedisClusterNodes

CLIENT_CLASS = "apps.core.redis_cluster.ClusterClient"


@pytest.fixture(scope="module")
def cluster_nodes() -> Iterator[RedisClusterNodes]:
    nodes = RedisClusterNodes(primaries=3).start()
    yield nodes
    redis_cluster.forget()
    nodes.stop()


@pytest.fixture
def on_cluster(cluster_nodes, settings) -> Iterator[RedisCluster]:  # type: ignore[no-untyped-def]
    """Every cache alias on the Cluster, as REDIS_CLUSTER=on configures it."""
    settings.CACHES = on(cluster_nodes)  # setting_changed: Django's caches and the near cache reset
    settings.REDIS_WAIT_REPLICAS = 0  # REDIS_CLUSTER=on's default: these primaries have no replica
    cluster_nodes.flush()
    last_seen.forget()
    yield get_redis_connection("default")
    cluster_nodes.flush()
    last_seen.forget()


def on(nodes: RedisClusterNodes) -> dict[str, Any]:
    caches = copy.deepcopy(django_settings.CACHES)
    for alias in caches.values():
        alias["LOCATION"] = nodes.url
        alias["OPTIONS"]["CLIENT_CLASS"] = CLIENT_CLASS
    return caches


@pytest.fixture
def mgets(monkeypatch) -> list[tuple[str, ...]]:
    """The keys of every MGET sent to the Cluster."""
    sent: list[tuple[str, ...]] = []
    real = RedisCluster.execute_command

    def execute_command(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] == "MGET":
            sent.append(tuple(str(key) for key in args[1:]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RedisCluster, "execute_command", execute_command)
    return sent


def sign_in(client: Client, *, email: str, password: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def verified(user: Any) -> Any:
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def node_of(redis: RedisCluster, key: str) -> str:
    return str(redis.get_node_from_key(key).name)

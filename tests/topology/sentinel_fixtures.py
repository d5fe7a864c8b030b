"""Fixtures for the Redis Sentinel tests: a primary, a replica and three sentinels per
test module (tests/topology/sentinel.py) and every cache alias pointed at them, as
REDIS_SENTINELS configures them (`on_sentinel`, requested by the Sentinel test module
only); tests/topology/conftest.py makes them visible."""

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django_redis import get_redis_connection

from apps.accounts import last_seen
from apps.core import sentinel
from tests.topology.sentinel import SERVICE, RedisSentinelTopology


@pytest.fixture(scope="module")
def sentinel_topology() -> Iterator[RedisSentinelTopology]:
    topology = RedisSentinelTopology().start()
    yield topology
    sentinel.forget()
    topology.stop()


@pytest.fixture
def on_sentinel(sentinel_topology, settings) -> Iterator[RedisSentinelTopology]:  # type: ignore[no-untyped-def]
    """Every cache alias on the Sentinel service's primary, as REDIS_SENTINELS sets it."""
    sentinel.forget()  # no pool or primary address from another topology or test
    settings.REDIS_SENTINELS = sentinel_topology.addresses
    # The servers run niced on a shared machine: give a replica's acknowledgement more
    # than the default 100 ms (still below the 500 ms socket timeout) so that only the
    # tests that mean WAIT to fail see it fail.
    settings.REDIS_WAIT_TIMEOUT = 400
    settings.CACHES = on(sentinel_topology)  # setting_changed: the near cache resets
    sentinel_topology.flush()
    last_seen.forget()
    yield sentinel_topology
    sentinel_topology.flush()
    last_seen.forget()
    sentinel.forget()


def on(topology: RedisSentinelTopology) -> dict[str, Any]:
    caches = copy.deepcopy(django_settings.CACHES)
    for alias in caches.values():
        alias["LOCATION"], alias["OPTIONS"] = sentinel.cache_alias(
            topology.addresses,
            service=SERVICE,
            redis_url="redis://unused/0",
            options=alias["OPTIONS"],
        )
    return caches


def primary_port() -> int:
    """Where the default alias's connections go now."""
    redis = get_redis_connection("default")
    return int(redis.connection_pool.get_master_address()[1])

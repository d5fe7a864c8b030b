"""django-redis on a Redis Cluster: `CLIENT_CLASS` for REDIS_CLUSTER=on.

django-redis 7 has no cluster client, and its `CLIENT_CLASS` option is the documented
place to plug one in. `ClusterClient` is its DefaultClient with one change of engine:
the raw client is redis-py's `RedisCluster`, seeded from LOCATION (any node's URL;
it discovers the others and follows MOVED/ASK), so `get_redis_connection` and every
cache call route each key to the node that owns its slot.

What works unchanged: single-key calls, `set_many` (a non-transactional cluster
pipeline, split per node), `delete_many` (redis-py splits DEL per slot), `clear`
(FLUSHDB on every primary) and allauth's rate limits (GET/SET/ADD on one key each).
`get_many` is the one call whose keys may span slots: it uses MGET per slot. The
access-state layer never needs that: one request's keys share the hash tag `{u:<id>}`
(apps/core/state/subjects.py), so its single MGET is one slot.

One RedisCluster per LOCATION per process, shared by threads (it is thread-safe and
holds a pool per node), as django-redis shares its connection pools. When no node
answers, redis-py raises RedisClusterException, which is not a RedisError: here it is
a ConnectionError, so every caller's outage path (sessions from Postgres, Access decided
from Postgres, invalidations owed) runs as it does for a single Redis.
"""

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, SlotNotCoveredError

_clusters: dict[str, RedisCluster] = {}
_lock = threading.Lock()


@contextmanager
def _unreachable_is_a_connection_error() -> Iterator[None]:
    try:
        yield
    except RedisClusterException as exc:
        # Only "no node answers" and "nobody serves this slot"; a usage error (keys of
        # several slots in one MGET) stays an error, not a pretend outage.
        cause = exc.__cause__
        if isinstance(exc, SlotNotCoveredError) or isinstance(cause, RedisError | OSError):
            raise RedisConnectionError(str(exc)) from exc
        raise


class ClusterUnreachableError(RedisConnectionError, ConnectionInterrupted):
    """No node answered while connecting (redis-py connects a RedisCluster at once).

    A RedisError for callers of `get_redis_connection`, and the ConnectionInterrupted
    django-redis's cache methods handle: the "sessions" alias then ignores it as
    IGNORE_EXCEPTIONS says, and "default" raises its cause, a ConnectionError."""

    def __init__(self, message: str) -> None:
        RedisConnectionError.__init__(self, message)
        self.connection = None


class _Cluster(RedisCluster):
    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        with _unreachable_is_a_connection_error():
            return super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        return _Pipeline(super().pipeline(transaction=transaction, shard_hint=shard_hint))


class _Pipeline:
    """A cluster pipeline whose execute() fails as `_Cluster`'s commands do."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        with _unreachable_is_a_connection_error():
            return list(self._pipeline.execute(raise_on_error=raise_on_error))


class ClusterClient(DefaultClient):
    def connect(self, index: int = 0) -> RedisCluster:
        url = self._server[index]
        with _lock:
            if url not in _clusters:
                params = self.connection_factory.make_connection_params(url)
                try:
                    with _unreachable_is_a_connection_error():
                        _clusters[url] = _Cluster.from_url(**params)
                except RedisConnectionError as exc:
                    raise ClusterUnreachableError(str(exc)) from exc
            return _clusters[url]

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        url = self._server[index]
        with _lock:
            cluster = _clusters.pop(url, None)
        if cluster is not None:
            cluster.close()

    def get_many(
        self, keys: Collection[str], version: int | None = None, client: Any = None
    ) -> dict[str, Any]:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        names = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(names))
        except RedisError as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {
            names[name]: self.decode(value)
            for name, value in zip(names, values, strict=True)
            if value is not None
        }


def configured(alias: str = "default") -> bool:
    """Whether this cache alias runs on a Redis Cluster (its CLIENT_CLASS is ours)."""
    client = settings.CACHES[alias].get("OPTIONS", {}).get("CLIENT_CLASS", "")
    return bool(client == f"{__name__}.{ClusterClient.__name__}")


def forget() -> None:
    """Close every cluster client (tests that start and stop clusters)."""
    with _lock:
        clusters = list(_clusters.values())
        _clusters.clear()
    for cluster in clusters:
        cluster.close()

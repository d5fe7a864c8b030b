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
holds a pool per node), as django-redis shares its connection pools.
"""

import threading
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.cluster import RedisCluster
from redis.exceptions import RedisError

_clusters: dict[str, RedisCluster] = {}
_lock = threading.Lock()


class ClusterClient(DefaultClient):
    def connect(self, index: int = 0) -> RedisCluster:
        url = self._server[index]
        with _lock:
            if url not in _clusters:
                params = self.connection_factory.make_connection_params(url)
                _clusters[url] = RedisCluster.from_url(**params)
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

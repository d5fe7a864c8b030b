"""Redis Sentinel (REDIS_SENTINELS): the cache aliases, the near cache's pool, WAIT, and
noticing that the primary moved.

Both cache aliases use django-redis's Sentinel support (its SentinelClient and
SentinelConnectionFactory on redis-py's SentinelConnectionPool): every connection asks
the sentinels where the primary is when it connects, so a reconnect after a failover
finds the new one. `SentinelClient` here reads from the primary too: django-redis would
send reads to a replica, which lags, so a value this process just wrote (a rate-limit
count, an anonymous session) could read back old.

Replication is asynchronous: a primary may acknowledge a write, fail, and be replaced by
a replica that never got it. Two things keep that from extending a grant:

- WAIT (apps/core/replication.py): an invalidation's MULTI/EXEC is followed, on the same
  connection, by `WAIT REDIS_WAIT_REPLICAS REDIS_WAIT_TIMEOUT`; fewer acknowledgements
  raise a RedisError, so its OwedInvalidation row stays owed (apps/core/state/invalidation.py).
- `PrimaryConnection`: when a connection finds the primary at an address this process
  has not used before (its first, or a failover's), owed invalidations are paid before
  the next cached value is trusted (`primary_moved`, read by `owed_check_due`), and the
  near cache drops a connection still on the old primary (`on_primary`).
"""

import threading
from typing import Any
from urllib.parse import urlsplit

from django_redis.client import SentinelClient as DjangoRedisSentinelClient
from redis.connection import ConnectionPool
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from .redis_outage import logger

CLIENT_CLASS = f"{__name__}.SentinelClient"
Address = tuple[str, int]

_primary: Address | None = None  # where this process last found the primary
_moves = 0  # how often that changed
_settled = 0  # the value of _moves when owed rows were last paid
_lock = threading.Lock()


def parse(entries: list[str]) -> tuple[list[Address], list[str]]:
    """REDIS_SENTINELS' entries as (host, port) pairs, and the entries that are not."""
    addresses, malformed = [], []
    for entry in (entry.strip() for entry in entries):
        host, colon, port = entry.rpartition(":")
        if colon and host and port.isdigit() and 0 < int(port) < 65_536:
            addresses.append((host.strip("[]"), int(port)))
        else:
            malformed.append(entry)
    return addresses, malformed


class SentinelClient(DjangoRedisSentinelClient):
    def get_next_client_index(self, write: bool = True, tried: Any = None) -> int:
        return 0  # the primary, for reads too (see the module's docstring)


def cache_alias(
    entries: list[str], *, service: str, redis_url: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """LOCATION and OPTIONS of a cache alias on the primary Sentinel names `service`
    (REDIS_URL's database number; its host is the sentinels' to tell)."""
    addresses, _ = parse(entries)
    path = urlsplit(redis_url).path.strip("/")
    database = int(path) if path.isdigit() else 0
    socket_options = {
        "socket_timeout": options.get("SOCKET_TIMEOUT"),
        "socket_connect_timeout": options.get("SOCKET_CONNECT_TIMEOUT"),
    }
    return f"redis://{service}/{database}", {
        **options,
        "CLIENT_CLASS": CLIENT_CLASS,
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "CONNECTION_POOL_CLASS": f"{__name__}.PrimaryPool",
        "SENTINELS": addresses,
        "SENTINEL_KWARGS": socket_options,  # the sentinels answer as fast as Redis
    }


def configured(caches: dict[str, Any], alias: str = "default") -> bool:
    return bool(caches[alias].get("OPTIONS", {}).get("CLIENT_CLASS") == CLIENT_CLASS)


def primary_pool(cache: dict[str, Any], **connection: Any) -> ConnectionPool:
    """A pool of connections to the primary of this cache alias's Sentinel service (the
    near cache's: protocol=3 and its socket options in `connection`)."""
    options = cache.get("OPTIONS", {})
    location = urlsplit(str(cache["LOCATION"]))
    manager = Sentinel(options["SENTINELS"], sentinel_kwargs=options.get("SENTINEL_KWARGS"))
    return PrimaryPool(
        location.hostname,
        manager,
        db=int(location.path.strip("/") or 0),
        **connection,
    )


class PrimaryConnection(SentinelManagedConnection):
    """A connection that reports where it found the primary."""

    primary_seen: Address | None = None

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        # redis-py connects a socket-less connection here without `connect`, so without
        # asking the sentinels: it would reach the pool's placeholder host, not the primary
        # (the near cache's connections connect this way).
        if not self._sock:
            self.connect()
        super().send_packed_command(command, check_health)

    def connect_to(self, address: Any) -> None:
        super().connect_to(address)
        self.primary_seen = (str(address[0]), int(address[1]))
        if self.connection_pool.is_master:
            _saw(self.primary_seen)


class PrimaryPool(SentinelConnectionPool):
    def __init__(self, service_name: Any, sentinel_manager: Any, **kwargs: Any) -> None:
        kwargs.setdefault("connection_class", PrimaryConnection)
        super().__init__(service_name, sentinel_manager, **kwargs)


def _saw(address: Address) -> None:
    global _primary, _moves
    with _lock:
        if address == _primary:
            return
        previous, _primary = _primary, address
        _moves += 1
    if previous is not None:
        logger.warning(
            "Redis Sentinel: the primary moved from %s:%d to %s:%d; paying owed "
            "invalidations before trusting cached values.",
            *previous,
            *address,
        )


def primary_moved() -> int | None:
    """From when this process found the primary somewhere new until owed invalidations
    were paid: a token for `settled`. None otherwise."""
    moves = _moves
    return moves if moves != _settled else None


def settled(token: int) -> None:
    """Owed rows were paid after the move `token` names (a later move still counts)."""
    global _settled
    with _lock:
        _settled = max(_settled, token)


def on_primary(connection: Any) -> bool:
    """False for a connection to an address this process no longer takes for the
    primary (another of its connections found the new one)."""
    seen = getattr(connection, "primary_seen", None)
    return seen is None or seen == _primary


def forget() -> None:
    """Drop django-redis's Sentinel pools and what this process knows of the primary
    (tests that start and stop Sentinel topologies)."""
    global _primary, _moves, _settled
    from django_redis.pool import ConnectionFactory

    for url, pool in list(ConnectionFactory._pools.items()):
        if isinstance(pool, SentinelConnectionPool):
            ConnectionFactory._pools.pop(url, None)
            pool.disconnect()
    with _lock:
        _primary, _moves, _settled = None, 0, 0

"""A near cache: copies of a few Redis keys kept in this process, which Redis itself
keeps current.

A gated page needs the session, the user's generation, identity snapshot and Access.
Fetching them is one MGET; on a small VM that round trip is most of the page's cost
(bench/README.md). Here the MGET's answer is kept in the thread that asked, and its
connection has Redis's CLIENT TRACKING on: from then on Redis pushes an invalidation
message on that same connection whenever one of those keys changes (SET, DEL, INCR,
expiry, FLUSHDB). Before every read the connection's pending pushes are drained, so a
read never serves a key that Redis has already reported changed.

Why that is enough for "revocation is instant" (docs/architecture.md, "The near cache"):
Redis queues the invalidation while it runs the writer's command and writes it to
this connection's socket in the same event-loop turn as the writer's reply, but not
necessarily first: under CPU pressure Redis can be descheduled between the two
writes for milliseconds (tests/core/test_near_cache.py has a two-process race test
that catches exactly that). So a revoking write is followed by `fence()`, one more
round trip from the writer: Redis answers it only in a later turn, after every
invalidation of the earlier one has been written. The webhook answers Stripe after
its fence, so the push is in every tracking socket before the 200 leaves. Writes this process makes
itself are also evicted here directly (`evict`).

That holds on the writer's host. Another host's pushes travel over its own link, and
the fence cannot wait for them: with the Redis -> host bytes delayed or stalled (a slow
or congested network, Redis `io-threads` falling behind) the push lands after the 200.
So a copy is also served only while Redis has answered a request this connection sent
less than `liveness` ago (REDIS_NEAR_CACHE_LIVENESS, 100 ms by default). Replies and
pushes share one ordered stream, so that answer came after the push of every write
Redis ran before the request arrived; a revoking write not yet pushed ran after the
request was sent. A request that starts more than `liveness` after a revoking write
returned thus never meets the old copy on any host, whatever the network does, and
usually it is gone sooner (when the push lands). tests/multihost measures it across
two hosts in network namespaces (bench/README.md, "Across hosts"). A time bound was
chosen over per-host acknowledgements: an ack must come back over the same slow link,
so the webhook would wait for the slowest host, and a host that stopped answering
would still need a time bound to be safe.

To keep that proof fresh without a wait, a read served from copies whose proof is past
half of `liveness` sends a PING it does not wait for; a later read takes its PONG (and
every push before it) and dates the proof from when the PING left. A busy thread so
never waits for Redis; a thread idle for longer than `liveness`, or whose link answers
slower than that, makes a real MGET per request. Any error drops every copy and the
connection; callers then fall back as they do for Redis errors.

Each thread has its own connection and copies (gunicorn's gthread workers included),
so nothing here is shared between threads. With Sentinel (apps/core/sentinel.py) the
connection comes from a SentinelConnectionPool: a reconnect asks where the primary is
now, starts with no copies, and turns tracking on there. Requires Redis 6+ (RESP3 and CLIENT
TRACKING); with `REDIS_NEAR_CACHE=off` every read is a plain MGET.
"""

import logging
import os
import threading
import time
from collections import OrderedDict, deque
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.connection import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from . import redis_cluster, sentinel

logger = logging.getLogger("tollgate.redis")

Value = bytes | None
_PUSH = object()  # what the push handler returns, to tell pushes from replies


class _Thread:
    """One thread's tracking connection and the copies it vouches for."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pid = os.getpid()
        self.copies: OrderedDict[str, Value] = OrderedDict()
        self.proven_at = float("-inf")  # when the last reply's request was sent
        self.probes: deque[float] = deque()  # when each PING still unanswered was sent
        self.conn = pool.make_connection()
        self.conn.register_connect_callback(self._on_connect)

    def _on_connect(self, conn: Any) -> None:
        # A (re)connect may have missed pushes: nothing cached before it is trusted.
        self.forget()
        conn.send_command("CLIENT", "TRACKING", "ON")
        if conn.read_response() not in (b"OK", "OK"):
            raise RedisError("CLIENT TRACKING ON was refused")
        # redis-py's own client-side cache uses this same parser hook; pushes that
        # arrive while a reply is read go to it too, so none is ever skipped.
        conn._parser.set_invalidation_push_handler(self._on_push)

    def _on_push(self, message: list[Any]) -> object:
        keys = message[1] if len(message) > 1 else None
        if keys is None:  # FLUSHDB / FLUSHALL, or the server's tracking table overflowed
            self.copies.clear()
        else:
            for key in keys:
                self.copies.pop(key.decode() if isinstance(key, bytes) else key, None)
        return _PUSH

    def forget(self) -> None:
        self.copies.clear()
        self.proven_at = float("-inf")
        self.probes.clear()

    def close(self) -> None:
        self.forget()
        self.conn.disconnect()

    def answered(self, reply: Any) -> None:
        """A reply that is not a push answers the oldest PING in flight."""
        if reply is not _PUSH and self.probes:
            self.proven_at = self.probes.popleft()

    def round_trip(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send `commands` at once, read the answers to earlier PINGs, then their replies."""
        sent_at = time.monotonic()
        # Connects (and turns tracking on) if needed.
        self.conn.send_packed_command(self.conn.pack_commands(commands))
        while self.probes:
            self.answered(self.conn.read_response())  # pushes before it are applied
        replies = [self.conn.read_response() for _ in commands]
        self.proven_at = sent_at
        return replies


class NearCache:
    def __init__(self, pool: ConnectionPool, *, max_keys: int, liveness: float) -> None:
        self._pool = pool  # protocol=3: pushes share the connection with replies
        self.max_keys = max_keys
        self.liveness = liveness
        self._local = threading.local()
        self.unsupported = False

    def _thread(self) -> _Thread:
        state: _Thread | None = getattr(self._local, "state", None)
        if state is None or state.pid != os.getpid():  # first use, or a forked worker
            state = _Thread(self._pool)
            self._local.state = state
        return state

    def mget(self, keys: list[str]) -> list[Value]:
        """The keys' values, from this thread's copies when Redis vouches for them."""
        if self.unsupported:
            return _PLAIN.mget(keys)
        state = self._thread()
        try:
            if state.conn.is_connected and self._vouched(state):
                copies = state.copies
                if all(key in copies for key in keys):
                    self._probe(state)
                    return [copies[key] for key in keys]
            return self._fetch(state, keys)
        except ResponseError as exc:
            # An answer, not an outage: this server refuses RESP3 or CLIENT TRACKING
            # (Redis < 6, or a managed service that blocks CLIENT). Plain MGETs then.
            state.close()
            self.unsupported = True
            logger.warning(
                "Redis refused client tracking (%s); the near cache is off, every gated "
                "page makes one MGET. Set REDIS_NEAR_CACHE=off to silence this.",
                exc,
            )
            return _PLAIN.mget(keys)
        except (RedisError, OSError) as exc:
            state.close()
            if isinstance(exc, RedisError):
                raise
            raise RedisError(str(exc)) from exc

    def _vouched(self, state: _Thread) -> bool:
        """Applies pending invalidations (and PING answers); True if the copies may be
        served: Redis answered a request sent less than `liveness` ago."""
        conn = state.conn
        if not sentinel.on_primary(conn):  # Sentinel moved the primary: start afresh
            state.close()
            return False
        try:
            while conn.can_read(timeout=0):
                state.answered(conn.read_response(push_request=True))
        except RedisConnectionError:
            state.close()  # e.g. Redis restarted: reconnect with a real MGET
            return False
        return time.monotonic() - state.proven_at < self.liveness

    def _probe(self, state: _Thread) -> None:
        """Renew a proof past half its life with a PING nobody waits for."""
        now = time.monotonic()
        if not state.probes and now - state.proven_at >= self.liveness / 2:
            state.probes.append(now)
            state.conn.send_command("PING")

    def _fetch(self, state: _Thread, keys: list[str]) -> list[Value]:
        """One MGET on the tracking connection; its answer becomes the copies."""
        [values] = state.round_trip(("MGET", *keys))
        self._keep(state, keys, values)
        return list(values)

    def _keep(self, state: _Thread, keys: list[str], values: list[Value]) -> None:
        copies = state.copies
        for key, value in zip(keys, values, strict=True):
            copies[key] = value
            copies.move_to_end(key)
        while len(copies) > self.max_keys:
            copies.popitem(last=False)

    def set(self, key: str, value: bytes, *, ex: int) -> None:
        """SET `key`, and keep it as this thread's copy: the value this thread just
        computed is what its next request reads, without another MGET.

        The copy is not the value sent but Redis's answer to a GET sent right behind
        the SET on the tracking connection, in the same round trip. That GET is a
        tracked read like an MGET: a change Redis ran before it is in its answer (its
        push, earlier in the stream, is applied first and then overwritten), and a
        change after it is pushed. Writing alone would not do: a key this connection
        writes leaves Redis's tracking table (the push for it is our own), so a copy of
        the value sent would never hear of a later change. No NOLOOP for the same
        reason: Redis would drop the key from the table without telling us, and the
        push it does send is harmless (it arrives before the GET's answer)."""
        state = self._thread()
        if self.unsupported:
            _PLAIN.set(key, value, ex=ex)
            return
        try:
            _, current = state.round_trip(("SET", key, value, "EX", ex), ("GET", key))
        except (RedisError, OSError) as exc:
            # An error reply to the SET leaves the GET's answer unread: start afresh.
            state.close()
            if isinstance(exc, RedisError):
                raise
            raise RedisError(str(exc)) from exc
        self._keep(state, [key], [current])

    def fence(self) -> None:
        """After a revoking write: return only once Redis has written its invalidation
        to every tracking connection (its answer to this comes a turn later). Threads
        on this host read it on their next request; other hosts within `liveness`."""
        get_redis_connection("default").ping()

    def evict(self, keys: list[str]) -> None:
        """Forget keys this process just wrote (their push may still be in flight)."""
        copies: OrderedDict[str, Value] | None = getattr(
            getattr(self._local, "state", None), "copies", None
        )
        if copies:
            for key in keys:
                copies.pop(key, None)

    def clear(self) -> None:
        state: _Thread | None = getattr(self._local, "state", None)
        if state is not None:
            state.copies.clear()


class Passthrough:
    """REDIS_NEAR_CACHE=off: every read is an MGET through django-redis's pool."""

    def mget(self, keys: list[str]) -> list[Value]:
        values: list[Value] = get_redis_connection("default").mget(keys)
        return values

    def set(self, key: str, value: bytes, *, ex: int) -> None:
        get_redis_connection("default").set(key, value, ex=ex)

    def fence(self) -> None:
        pass  # every read goes to Redis: nothing to wait for

    def evict(self, keys: list[str]) -> None:
        pass

    def clear(self) -> None:
        pass


_PLAIN = Passthrough()  # where the server refuses tracking
_instance: NearCache | Passthrough | None = None
_instance_lock = threading.Lock()


def near_cache() -> NearCache | Passthrough:
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = _build()
    return _instance


def _build() -> NearCache | Passthrough:
    if not settings.REDIS_NEAR_CACHE:
        return Passthrough()
    if redis_cluster.configured():
        # Tracking would be per node, and a slot that moves to another node leaves copies
        # whose invalidations that node never sends (bench/README.md, "Redis Cluster").
        logger.warning(
            "REDIS_CLUSTER is on: the near cache is off, every gated page makes one MGET "
            "(to the node of its user's slot). Set REDIS_NEAR_CACHE=off to silence this."
        )
        return Passthrough()
    cache = settings.CACHES["default"]
    options = cache.get("OPTIONS", {})
    connection = {
        "protocol": 3,
        "socket_timeout": options.get("SOCKET_TIMEOUT"),
        "socket_connect_timeout": options.get("SOCKET_CONNECT_TIMEOUT"),
        "socket_keepalive": True,
    }
    if sentinel.configured(settings.CACHES):  # connects to wherever the primary is now
        pool = sentinel.primary_pool(cache, **connection)
    else:
        pool = ConnectionPool.from_url(cache["LOCATION"], **connection)
    return NearCache(
        pool,
        max_keys=settings.REDIS_NEAR_CACHE_MAX_KEYS,
        liveness=settings.REDIS_NEAR_CACHE_LIVENESS,
    )


def reset(*, setting: str = "CACHES", **_: Any) -> None:
    """Rebuild from settings on next use; connected to `setting_changed` (apps.py), as
    Django does for its own caches, so a test that points Redis elsewhere is obeyed."""
    global _instance
    if setting != "CACHES" and not setting.startswith("REDIS_NEAR_CACHE"):
        return
    with _instance_lock:
        _instance = None

"""The near cache: copies served without a round trip, and dropped the moment Redis says
their key changed (or whenever Redis can no longer vouch for them)."""

import copy
import os
import threading
import time

import pytest
from django.urls import reverse
from redis.exceptions import RedisError

from apps.core import near_cache as module
from apps.core import state
from apps.core.checks import check_near_cache
from apps.core.near_cache import NearCache, Passthrough, near_cache

KEY, OTHER = "tollgate-test:nc:a", "tollgate-test:nc:b"


@pytest.fixture
def cache() -> NearCache:
    instance = near_cache()
    assert isinstance(instance, NearCache)
    return instance


def tracking_client_id(cache: NearCache) -> int:
    conn = cache._thread().conn
    conn.send_command("CLIENT", "ID")
    return int(conn.read_response())


def test_a_repeat_read_costs_no_round_trip(cache, redis, redis_round_trips):
    redis.set(KEY, b"1")
    assert cache.mget([KEY, OTHER]) == [b"1", None]
    assert cache.mget([KEY, OTHER]) == [b"1", None]
    assert redis_round_trips.count("MGET") == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.set(KEY, b"2"),
        lambda r: r.delete(KEY),
        lambda r: r.incr(KEY),
        lambda r: r.set(OTHER, b"new"),  # a key that did not exist when it was read
        lambda r: r.flushdb(),
    ],
    ids=["set", "delete", "incr", "created", "flushdb"],
)
def test_a_change_by_another_client_is_pushed_and_drops_the_copy(cache, redis, change):
    redis.set(KEY, b"1")
    cache.mget([KEY, OTHER])

    change(redis)
    cache.fence()  # as a revoking writer does: the push is in our socket now
    thread = cache._thread()
    cache._vouched(thread)  # as any later read: pushes that arrived are applied first

    assert not {KEY, OTHER} <= set(thread.copies)
    assert cache.mget([KEY, OTHER]) == redis.mget([KEY, OTHER])


def test_the_push_is_in_the_socket_without_any_request_from_us(cache, redis):
    cache.mget([KEY])
    redis.set(KEY, b"2")
    conn = cache._thread().conn
    assert conn.can_read(timeout=1.0)  # Redis sent it on its own
    assert cache.mget([KEY]) == [b"2"]


def test_an_expired_key_is_pushed(cache, redis):
    redis.set(KEY, b"1", px=20)
    assert cache.mget([KEY]) == [b"1"]
    time.sleep(0.05)
    redis.exists(KEY)  # Redis notices the expiry (and pushes) on access at the latest
    cache.fence()
    assert cache.mget([KEY]) == [None]


def test_own_writes_are_evicted_at_once_without_waiting_for_the_push(
    cache, redis, user, monkeypatch
):
    snapshot = state.read(user.pk)
    assert snapshot.get("access") is None
    monkeypatch.setattr(cache, "_vouched", lambda thread: True)  # pushes not read yet
    snapshot.put("access", {"x": 1}, ttl=60)
    assert state.read(user.pk).get("access") == {"x": 1, "g": snapshot.generation}
    state.invalidate([state.user(user.pk)])
    after = state.read(user.pk)
    assert (after.generation, after.get("access")) == (snapshot.generation + 1, None)


def test_a_write_is_kept_as_the_copy_without_another_round_trip(cache, redis, redis_round_trips):
    cache.mget([KEY, OTHER])
    cache.set(KEY, b"mine", ex=60)
    assert cache.mget([KEY, OTHER]) == [b"mine", None]
    assert redis_round_trips == ["MGET", "SET"]
    assert redis.get(KEY) == b"mine"


@pytest.mark.parametrize(
    "change",
    [lambda r: r.set(KEY, b"theirs"), lambda r: r.delete(KEY), lambda r: r.flushdb()],
    ids=["set", "delete", "flushdb"],
)
def test_a_change_after_our_own_write_is_still_pushed(cache, redis, change):
    """Our SET takes the key out of Redis's tracking table; the GET behind it puts it
    back, so another client's later change still drops the copy."""
    cache.mget([KEY])
    cache.set(KEY, b"mine", ex=60)
    change(redis)
    cache.fence()
    assert cache.mget([KEY]) == [redis.get(KEY)]


def test_an_error_reply_to_a_write_drops_every_copy(cache, redis, redis_round_trips):
    redis.set(OTHER, b"1")
    cache.mget([KEY, OTHER])
    with pytest.raises(RedisError):
        cache.set(KEY, b"mine", ex=0)  # Redis refuses an expiry of 0
    assert cache._thread().copies == {}
    redis_round_trips.clear()
    assert cache.mget([KEY, OTHER]) == [None, b"1"]  # the stream is in step again
    assert redis_round_trips == ["MGET"]


def test_copies_are_served_only_while_redis_has_answered_recently(
    cache, redis, redis_round_trips, monkeypatch
):
    """A silent partition: the connection looks open but pushes no longer arrive."""
    redis.set(KEY, b"1")
    cache.mget([KEY])
    conn = cache._thread().conn
    monkeypatch.setattr(conn, "can_read", lambda timeout=0: False)  # pushes lost
    redis.set(KEY, b"2")
    assert cache.mget([KEY]) == [b"1"]  # within the liveness window: served

    later = time.monotonic() + cache.liveness
    monkeypatch.setattr(module.time, "monotonic", lambda: later)
    redis_round_trips.clear()
    assert cache.mget([KEY]) == [b"2"]  # past it: a real MGET, never the old copy
    assert redis_round_trips == ["MGET"]


class Clock:
    """time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_a_busy_thread_renews_its_proof_with_a_ping_it_does_not_wait_for(
    cache, redis, redis_round_trips, monkeypatch
):
    redis.set(KEY, b"1")
    clock = Clock()
    monkeypatch.setattr(module.time, "monotonic", clock)
    cache.mget([KEY])
    state = cache._thread()

    clock.now += cache.liveness * 0.6  # past half its life: served, and a PING sent
    assert cache.mget([KEY]) == [b"1"]
    assert list(state.probes) == [clock.now]
    assert state.conn.can_read(timeout=1.0)  # the PONG, read by the next request
    pinged_at = clock.now

    clock.now += cache.liveness * 0.6  # older than liveness since the MGET, not the PING
    assert cache.mget([KEY]) == [b"1"]
    assert state.proven_at == pinged_at
    assert redis_round_trips.count("MGET") == 1  # the first read; nobody waited for a PING


def test_a_read_with_a_ping_in_flight_gets_its_own_reply(cache, redis, monkeypatch):
    redis.set(KEY, b"1")
    redis.set(OTHER, b"2")
    clock = Clock()
    monkeypatch.setattr(module.time, "monotonic", clock)
    cache.mget([KEY])
    clock.now += cache.liveness * 0.6
    cache.mget([KEY])  # sends the PING
    assert cache._thread().probes

    assert cache.mget([KEY, OTHER]) == [b"1", b"2"]  # a miss: MGET after the PONG
    assert not cache._thread().probes


def test_no_copy_is_served_once_redis_has_not_answered_for_liveness(
    cache, redis, redis_round_trips, monkeypatch
):
    """The cross-host bound: a revoking write that Redis ran after this thread's last
    answered request was sent, and whose push has not arrived (a slow or stalled link),
    is not served past `liveness` after that request, even to a busy thread."""
    redis.set(KEY, b"1")
    clock = Clock()
    monkeypatch.setattr(module.time, "monotonic", clock)
    cache.mget([KEY])
    conn = cache._thread().conn
    delivers = conn.can_read
    monkeypatch.setattr(conn, "can_read", lambda timeout=0: False)  # nothing arrives
    redis.set(KEY, b"2")
    for _ in range(3):  # busy: its PING goes out, but no answer comes back
        clock.now += cache.liveness * 0.3
        assert cache.mget([KEY]) == [b"1"]
    clock.now += cache.liveness * 0.1
    redis_round_trips.clear()
    monkeypatch.setattr(conn, "can_read", delivers)  # the MGET waits for its answer
    assert cache.mget([KEY]) == [b"2"]
    assert redis_round_trips == ["MGET"]


def test_a_connection_closed_by_redis_is_replaced_and_nothing_old_is_served(cache, redis):
    redis.set(KEY, b"1")
    cache.mget([KEY])
    redis.client_kill_filter(_id=tracking_client_id(cache))
    redis.set(KEY, b"2")  # nobody tracks the key for us any more

    assert cache.mget([KEY]) == [b"2"]


def test_redis_unreachable_raises_and_keeps_nothing(settings, redis):
    redis.set(KEY, b"1")
    near_cache().mget([KEY])
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    settings.CACHES = caches  # rebuilds the near cache, as Django rebuilds its caches

    with pytest.raises(RedisError):
        near_cache().mget([KEY])
    with pytest.raises(RedisError):
        near_cache().mget([KEY])  # still failing: no copy is served


def test_each_thread_has_its_own_connection_and_copies(cache, redis, redis_round_trips):
    redis.set(KEY, b"1")
    cache.mget([KEY])
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(cache.mget([KEY])))
    thread.start()
    thread.join()
    assert other == [[b"1"]]
    assert redis_round_trips.count("MGET") == 2


def test_a_forked_worker_opens_its_own_connection(cache, redis):
    cache.mget([KEY])
    before = tracking_client_id(cache)
    cache._thread().pid = -1  # as seen from a process forked after the first read
    cache.mget([KEY])
    assert tracking_client_id(cache) != before


def test_copies_are_bounded(settings, redis):
    settings.REDIS_NEAR_CACHE_MAX_KEYS = 3
    cache = near_cache()
    for n in range(5):
        cache.mget([f"{KEY}:{n}"])
    assert list(cache._thread().copies) == [f"{KEY}:{n}" for n in (2, 3, 4)]


def test_turned_off_every_gated_page_is_one_mget(
    settings, client, user, subscribe, redis_round_trips
):
    settings.REDIS_NEAR_CACHE = False
    assert isinstance(near_cache(), Passthrough)
    subscribe("pro_monthly")
    client.force_login(user)
    for _ in range(3):
        assert client.get(reverse("web:reports")).status_code == 200
    redis_round_trips.clear()
    assert client.get(reverse("web:reports")).status_code == 200
    assert redis_round_trips == ["MGET"]


def _invalidate(user_id: int, redis) -> None:  # type: ignore[no-untyped-def]
    state.invalidate([state.user(user_id)])


def _incr_then_fence(user_id: int, redis) -> None:  # type: ignore[no-untyped-def]
    redis.incr(state.user(user_id).generation_key)  # a plain write: Redis may answer it
    near_cache().fence()  # before it has written the push


@pytest.mark.parametrize("write", [_invalidate, _incr_then_fence])
def test_once_a_write_returns_no_other_process_reads_what_it_replaced(cache, redis, write):
    """The fence, end to end: another process writes as fast as it can and reports each
    generation once the write has returned (as a webhook then answers 200). This
    process reads between reports and must never see an older generation. Without
    the fence, a few percent of reads after a plain INCR are stale here (Redis wrote
    its reply before the push and was descheduled in between)."""
    user_id, rounds = 424242, 1500
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the writer: no pytest, no Django teardown in this process
        try:
            os.close(readable)
            for generation in range(1, rounds + 1):  # the key starts absent (0)
                write(user_id, redis)
                os.write(writable, b"%d\n" % generation)
        finally:
            os._exit(0)
    os.close(writable)
    os.set_blocking(readable, False)
    acknowledged, stale, reads, pending = 0, 0, 0, b""
    while True:
        try:
            chunk = os.read(readable, 65536)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            break
        pending += chunk or b""
        *lines, pending = pending.split(b"\n")
        if lines:
            acknowledged = int(lines[-1])
        generation = state.read(user_id).generation or 0
        reads += 1
        stale += generation < acknowledged
    os.waitpid(child, 0)
    assert acknowledged == rounds
    assert reads > rounds  # the reads really interleaved with the writes
    assert stale == 0


def test_the_test_settings_pass_the_near_cache_checks():
    assert check_near_cache() == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("REDIS_NEAR_CACHE_LIVENESS", 0.0, "core.E001"),
        ("REDIS_NEAR_CACHE_MAX_KEYS", 2, "core.E002"),
    ],
)
def test_a_bad_near_cache_setting_is_an_error_naming_it(settings, name, value, error):
    setattr(settings, name, value)
    errors = check_near_cache()
    assert [e.id for e in errors] == [error]
    assert name in errors[0].msg


def test_a_redis_url_the_near_cache_cannot_track_is_an_error_suggesting_off(settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "sentinel://mymaster/0"
    settings.CACHES = caches
    errors = check_near_cache()
    assert [e.id for e in errors] == ["core.E003"]
    assert "REDIS_NEAR_CACHE=off" in errors[0].hint
    settings.REDIS_NEAR_CACHE = False
    assert check_near_cache() == []

"""The Access cache in real Redis: generations, TTLs, the recompute race, Redis outages."""

import copy
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_py
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.billing.access import cache, resolver
from apps.billing.access.resolver import access_for_user
from apps.billing.access.rules import Access
from apps.core import state
from apps.core.near_cache import near_cache
from apps.core.redis_outage import RedisOutage
from apps.core.state import guard
from tests.state_helpers import access_key, generation_key

pytestmark = pytest.mark.django_db

PRO = Access(
    status="active",
    plan="pro",
    features=frozenset({"reports", "exports"}),
    valid_until=timezone.now() + timedelta(days=30),
    subscription_id="sub_1",
)


@pytest.fixture
def outage(monkeypatch) -> RedisOutage:
    """A fresh outage tracker, so no test inherits another's "Redis is down"."""
    fresh = RedisOutage()
    monkeypatch.setattr(guard, "redis_outage", fresh)
    return fresh


def read(user_id: int, *, now: datetime) -> tuple[Access | None, int | None]:
    """(the cached Access or None, the generation a recomputed value is written under)."""
    snapshot = state.read(user_id)
    return cache.accept(snapshot.get(cache.SLOT), now=now), snapshot.generation


def write(snapshot: state.Snapshot, access: Access, *, now: datetime) -> None:
    snapshot.put(cache.SLOT, access.as_json(), ttl=cache.ttl_for(access, now=now))


def invalidate(user_id: int) -> None:
    state.invalidate([state.user(user_id)])


def djstripe_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "djstripe_" in q["sql"]]


def test_cache_hit_is_at_most_one_mget_and_no_sql(user, subscribe, redis_round_trips, outage):
    subscribe("pro_monthly")
    first = access_for_user(user)  # a miss: computes and writes the Access
    access_for_user(user)  # re-reads what it wrote, so Redis tracks it for this thread
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        again = access_for_user(user)

    assert again == first
    assert again.has("reports")
    assert redis_round_trips == []  # this thread's near copy, which Redis vouches for
    assert queries.captured_queries == []

    near_cache().clear()  # another worker thread: one MGET, still no SQL
    with CaptureQueriesContext(connection) as queries:
        assert access_for_user(user) == first
    assert redis_round_trips == ["MGET"]
    assert queries.captured_queries == []


def test_value_under_an_older_generation_is_a_miss(user, redis):
    now = timezone.now()
    write(state.read(user.pk), PRO, now=now)
    assert read(user.pk, now=now) == (PRO, 0)

    redis.incr(generation_key(user.pk))  # value left in place on purpose
    near_cache().fence()  # its invalidation push, as any later read sees it

    assert read(user.pk, now=now) == (None, 1)


def test_invalidate_increments_the_generation_and_deletes_the_value(user, redis):
    now = timezone.now()
    write(state.read(user.pk), PRO, now=now)

    invalidate(user.pk)

    assert redis.get(access_key(user.pk)) is None
    assert int(redis.get(generation_key(user.pk))) == 1
    # The generation outlives any value written under it.
    assert redis.ttl(generation_key(user.pk)) > state.VALUE_TTL_CEILING
    state.invalidate([state.user(user.pk), state.user(user.pk)])
    assert int(redis.get(generation_key(user.pk))) == 2


@pytest.mark.parametrize("seconds_left", [90, 30 * 24 * 3600])
def test_ttl_is_capped_by_valid_until_and_by_one_hour(user, redis, seconds_left):
    now = timezone.now()
    access = Access(status="active", plan="pro", valid_until=now + timedelta(seconds=seconds_left))

    write(state.read(user.pk), access, now=now)

    ttl = redis.ttl(access_key(user.pk))
    assert 0 < ttl <= min(seconds_left, state.VALUE_TTL_CEILING)


def test_free_access_without_valid_until_gets_the_ceiling_ttl(user, redis):
    write(state.read(user.pk), Access(status="free"), now=timezone.now())

    assert 0 < redis.ttl(access_key(user.pk)) <= state.VALUE_TTL_CEILING


def test_write_racing_an_invalidation_is_never_read_back(user, redis):
    now = timezone.now()
    snapshot = state.read(user.pk)  # a request misses...
    cached = cache.accept(snapshot.get(cache.SLOT), now=now)
    assert cached is None
    stale = PRO  # ...computes from the rows as they were...
    invalidate(user.pk)  # ...a webhook commits meanwhile...
    write(snapshot, stale, now=now)  # ...and it writes late.

    assert redis.get(access_key(user.pk)) is not None  # the late write landed...
    assert read(user.pk, now=now)[0] is None  # ...and no read accepts it


def test_invalidation_during_compute_does_not_leave_a_stale_grant(
    user, subscribe, fake_stripe, redis, monkeypatch, outage
):
    sub = subscribe("pro_monthly")
    real_compute = resolver.access_compute

    def compute_while_a_webhook_lands(user_id):  # type: ignore[no-untyped-def]
        before = real_compute(user_id)  # old rows: still active
        fake_stripe.update(sub["id"], status="canceled")
        from apps.billing import services

        services.subscription_sync(data=fake_stripe.get(sub["id"]))
        invalidate(user_id)  # what the webhook's on_commit does
        return before

    monkeypatch.setattr(resolver, "access_compute", compute_while_a_webhook_lands)
    assert access_for_user(user).has("reports")  # the in-flight request saw the old rows

    monkeypatch.setattr(resolver, "access_compute", real_compute)
    assert redis.get(access_key(user.pk)) is not None  # the stale grant was written
    after = access_for_user(user)

    assert not after.has("reports")
    assert after.status == "canceled"


def test_cancel_at_period_end_denies_after_the_period_without_a_webhook(
    user, subscribe, monkeypatch, outage
):
    period_end = int(time.time()) + 120
    subscribe("pro_monthly", period_end=period_end, cancel_at_period_end=True)

    granted = access_for_user(user)
    assert granted.has("reports")
    assert granted.cancel_at_period_end
    assert int(granted.valid_until.timestamp()) == period_end
    assert cache.is_cached(user.pk, now=timezone.now())

    later = datetime.fromtimestamp(period_end + 1, tz=UTC)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert not cache.is_cached(user.pk, now=later)
    assert not access_for_user(user).has("reports")


def test_cached_value_past_its_valid_until_is_not_accepted(user):
    now = timezone.now()
    ending = Access(status="active", plan="pro", valid_until=now + timedelta(seconds=30))
    write(state.read(user.pk), ending, now=now)  # Redis still holds it for 30 s

    assert read(user.pk, now=now)[0] == ending
    assert read(user.pk, now=now + timedelta(seconds=31))[0] is None


# --- Redis unreachable ----------------------------------------------------------------


@pytest.fixture
def redis_down(settings, outage):  # type: ignore[no-untyped-def]
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    settings.CACHES = caches
    return outage


def test_redis_down_active_subscriber_is_granted_from_postgres(user, subscribe, redis_down):
    subscribe("pro_monthly")

    access = access_for_user(user)

    assert access.has("reports")
    assert redis_down.is_down


def test_redis_down_canceled_subscriber_is_denied_from_postgres(user, subscribe, redis_down):
    subscribe("pro_monthly", status="canceled")

    access = access_for_user(user)

    assert not access.has("reports")
    assert access.status == "canceled"


def test_redis_down_logs_one_warning_for_many_requests(
    user, subscribe, redis_down, caplog, monkeypatch
):
    subscribe("pro_monthly")
    caplog.set_level(logging.WARNING, logger="tollgate.redis")

    results = [access_for_user(user) for _ in range(5)]
    # Past the retry window: Redis is tried (and fails) again, still without a new log line.
    clock = time.monotonic() + 60
    monkeypatch.setattr("apps.core.redis_outage.time.monotonic", lambda: clock)
    results += [access_for_user(user) for _ in range(3)]

    assert all(access.has("reports") for access in results)
    warnings = [r for r in caplog.records if r.name == "tollgate.redis"]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()


def test_postgres_error_propagates_instead_of_granting(user, subscribe, monkeypatch, outage):
    subscribe("pro_monthly")

    def broken(user_id):  # type: ignore[no-untyped-def]
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(resolver, "facts_for_user", broken)

    with pytest.raises(OperationalError):
        access_for_user(user)
    assert not cache.is_cached(user.pk, now=timezone.now())


def test_redis_error_on_read_falls_back_to_postgres(user, subscribe, redis, monkeypatch, outage):
    subscribe("pro_monthly")

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise redis_py.exceptions.ConnectionError("refused")

    with monkeypatch.context() as patch, CaptureQueriesContext(connection) as queries:
        patch.setattr(redis, "execute_command", refuse)
        access = access_for_user(user)

    assert access.has("reports")
    assert djstripe_queries(queries)


def test_a_value_in_an_older_shape_is_a_miss_not_an_error(user):
    old = {"s": "active", "p": "pro", "f": ["reports"], "u": None, "c": False, "i": False}
    state.read(user.pk).put(cache.SLOT, old, ttl=60)

    assert read(user.pk, now=timezone.now()) == (None, 0)


def test_the_cache_stores_the_access_codec_shape(user):
    now = timezone.now()
    write(state.read(user.pk), PRO, now=now)

    stored = {k: v for k, v in (state.read(user.pk).get(cache.SLOT) or {}).items() if k != "g"}
    assert stored == PRO.as_json()
    assert read(user.pk, now=now) == (PRO, 0)

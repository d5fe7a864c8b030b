"""The per-user Access cache in Redis, which is never stale.

Two keys per user: the value, which carries the generation it was computed under,
and the user's current generation. A hit needs both (one MGET) with equal
generations. Invalidation INCRs the generation and deletes the value, after the
webhook's transaction commits. A request that was recomputing from the old rows
while that happened writes its value under the old generation, which no read will
accept: no stale grant survives an invalidation.

The value's TTL is capped by the Access's own `valid_until`, so a period ending
(e.g. cancel at period end) takes effect without any webhook.

Requires a Redis eviction policy that does not evict generation keys early
(`noeviction` or a `volatile-*` policy; generation keys expire only after a week).
"""

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection

from .rules import Access

VALUE_TTL_CEILING = 60 * 60  # seconds; bounds any value even if no event ever arrives
GENERATION_TTL = 7 * 24 * 60 * 60
FORMAT = 1  # bump when the serialized shape changes; old values then read as misses


def _prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:access"


def value_key(user_id: int) -> str:
    return f"{_prefix()}:v{FORMAT}:{user_id}"


def generation_key(user_id: int) -> str:
    return f"{_prefix()}:gen:{user_id}"


def redis() -> Any:
    return get_redis_connection("default")


def dumps(access: Access, *, generation: int) -> str:
    return json.dumps(
        {
            "g": generation,
            "s": access.status,
            "p": access.plan,
            "f": sorted(access.features),
            "u": access.valid_until.timestamp() if access.valid_until else None,
            "c": access.cancel_at_period_end,
            "i": access.in_grace,
            "sid": access.subscription_id,
            "t": access.trial_end.timestamp() if access.trial_end else None,
        },
        separators=(",", ":"),
    )


def loads(raw: bytes | str) -> tuple[Access, int]:
    data = json.loads(raw)

    def when(ts: float | None) -> datetime | None:
        return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None

    access = Access(
        status=data["s"],
        plan=data["p"],
        features=frozenset(data["f"]),
        valid_until=when(data["u"]),
        cancel_at_period_end=data["c"],
        in_grace=data["i"],
        subscription_id=data["sid"],
        trial_end=when(data["t"]),
    )
    return access, int(data["g"])


def accept(
    raw_value: bytes | None, raw_generation: bytes | None, *, now: datetime
) -> Access | None:
    """The cached Access if it is current: same generation and still valid at `now`."""
    if raw_value is None:
        return None
    access, generation = loads(raw_value)
    if generation != int(raw_generation or 0):
        return None
    if access.valid_until is not None and access.valid_until <= now:
        return None
    return access


def read(user_id: int, *, now: datetime) -> tuple[Access | None, int]:
    """(cached Access or None, the generation to write a recomputed value under)."""
    raw_value, raw_generation = redis().mget([value_key(user_id), generation_key(user_id)])
    return accept(raw_value, raw_generation, now=now), int(raw_generation or 0)


def ttl_for(access: Access, *, now: datetime) -> int:
    if access.valid_until is None:
        return VALUE_TTL_CEILING
    remaining = int((access.valid_until - now).total_seconds())
    return max(1, min(VALUE_TTL_CEILING, remaining))


def write(user_id: int, access: Access, *, generation: int, now: datetime) -> None:
    redis().set(
        value_key(user_id), dumps(access, generation=generation), ex=ttl_for(access, now=now)
    )


def invalidate(user_ids: Iterable[int]) -> None:
    """Make every cached Access of these users unreadable, now and for racing writers."""
    pipe = redis().pipeline(transaction=True)
    for user_id in set(user_ids):
        pipe.incr(generation_key(user_id))
        pipe.expire(generation_key(user_id), GENERATION_TTL)
        pipe.delete(value_key(user_id))
    pipe.execute()


def is_cached(user_id: int, *, now: datetime) -> bool:
    return read(user_id, now=now)[0] is not None

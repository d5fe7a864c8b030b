"""The Access slot of the per-user cache (apps/core/user_cache.py explains why it is
never stale). The value's TTL is capped by the Access's own `valid_until`, so a period
ending (e.g. cancel at period end) takes effect without any webhook.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from apps.core import user_cache

from .rules import Access

SLOT = "access"
VALUE_TTL_CEILING = user_cache.VALUE_TTL_CEILING


def value_key(user_id: int) -> str:
    return user_cache.slot_key(user_id, SLOT)


def generation_key(user_id: int) -> str:
    return user_cache.generation_key(user_id)


def to_payload(access: Access) -> dict[str, Any]:
    return {
        "s": access.status,
        "p": access.plan,
        "f": sorted(access.features),
        "u": access.valid_until.timestamp() if access.valid_until else None,
        "c": access.cancel_at_period_end,
        "i": access.in_grace,
        "sid": access.subscription_id,
        "t": access.trial_end.timestamp() if access.trial_end else None,
    }


def from_payload(data: dict[str, Any]) -> Access:
    def when(ts: float | None) -> datetime | None:
        return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None

    return Access(
        status=data["s"],
        plan=data["p"],
        features=frozenset(data["f"]),
        valid_until=when(data["u"]),
        cancel_at_period_end=data["c"],
        in_grace=data["i"],
        subscription_id=data["sid"],
        trial_end=when(data["t"]),
    )


def accept(payload: dict[str, Any] | None, *, now: datetime) -> Access | None:
    """The cached Access if current (same generation, checked by the caller) and unexpired."""
    if payload is None:
        return None
    access = from_payload(payload)
    if access.valid_until is not None and access.valid_until <= now:
        return None
    return access


def read(user_id: int, *, now: datetime) -> tuple[Access | None, int]:
    """(cached Access or None, the generation to write a recomputed value under)."""
    generation, slots = user_cache.read(user_id, [SLOT])
    return accept(slots[SLOT], now=now), generation


def ttl_for(access: Access, *, now: datetime) -> int:
    if access.valid_until is None:
        return VALUE_TTL_CEILING
    remaining = int((access.valid_until - now).total_seconds())
    return max(1, min(VALUE_TTL_CEILING, remaining))


def write(user_id: int, access: Access, *, generation: int, now: datetime) -> None:
    ttl = ttl_for(access, now=now)
    user_cache.write(user_id, SLOT, to_payload(access), generation=generation, ttl=ttl)


def invalidate(user_ids: Iterable[int]) -> None:
    user_cache.invalidate(user_ids)


def is_cached(user_id: int, *, now: datetime) -> bool:
    return read(user_id, now=now)[0] is not None

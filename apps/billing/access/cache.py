"""The Access slot of the per-user cache (apps/core/user_cache.py explains why it is
never stale). The value's TTL is capped by the Access's own `valid_until`, so a period
ending (e.g. cancel at period end) takes effect without any webhook. The value is
`Access.as_json()`, the same shape `/api/session` returns.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from apps.core import user_cache

from .rules import Access

SLOT = "access"
VALUE_TTL_CEILING = user_cache.VALUE_TTL_CEILING


def value_key(user_id: int) -> str:
    return user_cache.slot_key(user_id, SLOT)


def generation_key(user_id: int) -> str:
    return user_cache.generation_key(user_id)


def accept(payload: dict[str, Any] | None, *, now: datetime) -> Access | None:
    """The cached Access if current (same generation, checked by the caller) and unexpired."""
    if payload is None:
        return None
    try:
        access = Access.from_json(payload)
    except (KeyError, TypeError, ValueError):
        return None  # written by an older release (another shape or status): a miss
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
    user_cache.write(user_id, SLOT, access.as_json(), generation=generation, ttl=ttl)


def invalidate(user_ids: Iterable[int]) -> None:
    user_cache.invalidate(user_ids)


def is_cached(user_id: int, *, now: datetime) -> bool:
    return read(user_id, now=now)[0] is not None

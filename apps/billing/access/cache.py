"""The Access slot of the access-state layer (apps/core/state/ explains why it is never
stale). The value's TTL is capped by the Access's own `valid_until`, so a period ending
(e.g. cancel at period end) takes effect without any webhook. The value is
`Access.as_json()`, the same shape `/api/session` returns.
"""

from datetime import datetime
from typing import Any

from apps.core import state

from .rules import Access

SLOT = "access"


def accept(payload: dict[str, Any] | None, *, now: datetime) -> Access | None:
    """The cached Access if current (same generation, checked by the snapshot) and unexpired."""
    if payload is None:
        return None
    try:
        access = Access.from_json(payload)
    except (KeyError, TypeError, ValueError):
        return None  # written by an older release (another shape or status): a miss
    if access.valid_until is not None and access.valid_until <= now:
        return None
    return access


def ttl_for(access: Access, *, now: datetime) -> int:
    if access.valid_until is None:
        return state.VALUE_TTL_CEILING
    remaining = int((access.valid_until - now).total_seconds())
    return max(1, min(state.VALUE_TTL_CEILING, remaining))


def is_cached(user_id: int, *, now: datetime) -> bool:
    """Whether the user's next request is served its Access from the cache (the admin
    shows it)."""
    return accept(state.read(user_id).get(SLOT), now=now) is not None

"""Per-user values in Redis that are never stale: one generation, several slots.

Each user has a generation counter and a few cached values ("slots": the identity
snapshot, the Access). Every value carries the generation it was computed under, and
a read accepts it only if that equals the current generation, which is fetched in
the same MGET. Invalidation INCRs the generation and deletes the values. A reader
that was recomputing from old rows while that happened writes under the old
generation, and no later read accepts it. See DESIGN.md, "The Access cache".

Reads go through apps/core/near_cache.py: a thread keeps the MGET's answer and Redis
pushes an invalidation the moment any of those keys changes, so a repeat read costs no
round trip. Writes go to Redis as usual and evict this process's copies at once;
`invalidate` then waits for Redis to have told every other thread (`fence`).

Redis must not evict generation keys before values: use `noeviction`, or `volatile-ttl`,
which evicts the keys nearest expiry first, and values (an hour at most) always expire
before the generations (a week) that guard them. Other policies evict by use or at
random; `/readyz` warns about them.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection

from .near_cache import near_cache

SLOTS = ("user", "access")
VALUE_TTL_CEILING = 60 * 60
GENERATION_TTL = 7 * 24 * 60 * 60
FORMAT = 1  # bump when a payload's shape changes; old values then read as misses

Payload = dict[str, Any]


def _prefix(user_id: int) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:u:{user_id}"


def generation_key(user_id: int) -> str:
    return f"{_prefix(user_id)}:gen"


def slot_key(user_id: int, slot: str) -> str:
    return f"{_prefix(user_id)}:{slot}:v{FORMAT}"


def redis() -> Any:
    return get_redis_connection("default")


def accept(raw: bytes | str | None, generation: int) -> Payload | None:
    """The payload if it was written under `generation`, else None."""
    if raw is None:
        return None
    payload: Payload = json.loads(raw)
    return payload if payload.get("g") == generation else None


def read(user_id: int, slots: Iterable[str]) -> tuple[int, dict[str, Payload | None]]:
    """One MGET: (current generation, each slot's payload or None)."""
    generation, payloads, _ = read_with(user_id, slots)
    return generation, payloads


def read_with(
    user_id: int, slots: Iterable[str], *, also: Iterable[str] = ()
) -> tuple[int, dict[str, Payload | None], list[bytes | None]]:
    """Like `read`, also fetching the raw values of other keys in the same MGET."""
    names, extra = list(slots), list(also)
    keys = [generation_key(user_id), *(slot_key(user_id, s) for s in names), *extra]
    raw = near_cache().mget(keys)
    generation = int(raw[0] or 0)
    payloads = {
        name: accept(value, generation)
        for name, value in zip(names, raw[1 : 1 + len(names)], strict=True)
    }
    return generation, payloads, raw[1 + len(names) :]


def write(user_id: int, slot: str, payload: Payload, *, generation: int, ttl: int) -> None:
    """Store a payload computed under `generation` (read before computing it)."""
    body = json.dumps({**payload, "g": generation}, separators=(",", ":"))
    key = slot_key(user_id, slot)
    redis().set(key, body, ex=max(1, min(ttl, VALUE_TTL_CEILING)))
    # No fence: a value is trusted only under the generation read with it, and
    # generations change only in `invalidate`, which fences.
    near_cache().evict([key])


def invalidate(user_ids: Iterable[int]) -> None:
    """Make every cached value of these users unreadable, now and for racing writers."""
    pipe = redis().pipeline(transaction=True)
    keys = []
    for user_id in set(user_ids):
        pipe.incr(generation_key(user_id))
        pipe.expire(generation_key(user_id), GENERATION_TTL)
        pipe.delete(*(slot_key(user_id, slot) for slot in SLOTS))
        keys += [generation_key(user_id), *(slot_key(user_id, slot) for slot in SLOTS)]
    pipe.execute()
    near_cache().evict(keys)
    near_cache().fence()  # every thread's copy is invalid once this returns

"""Per-user values in Redis that are never stale: one generation, several slots.

Each user has a generation counter and a few cached values ("slots": the identity
snapshot, the Access). Every value carries the generation it was computed under, and
a read accepts it only if that equals the current generation, which is fetched in
the same MGET. Invalidation INCRs the generation and deletes the values. A reader
that was recomputing from old rows while that happened writes under the old
generation, and no later read accepts it. See docs/architecture.md, "The generation
contract".

The generation also guards each of the user's sessions in Redis
(apps/accounts/session_store.py), so ending a session, like any revocation, is one INCR.

Reads go through apps/core/near_cache.py: a thread keeps the MGET's answer and Redis
pushes an invalidation the moment any of those keys changes, so a repeat read costs no
round trip. Writes go to Redis as usual and evict this process's copies at once;
`invalidate` then waits for Redis to have told every other thread (`fence`).

Invalidations that must not be lost are owed durably: `invalidate_after_commit` writes
an OwedInvalidation row (apps/core/models.py) in the caller's transaction, bumps the
generation after commit and deletes the row. If Redis fails then, the row stays and is
paid before a cached value is trusted again: at once by a process that saw Redis fail,
and within REDIS_REPLAY_INTERVAL by every other process (0: before every read, strict).

Redis must not evict generation keys before values: use `noeviction`, or `volatile-ttl`,
which evicts the keys nearest expiry first, and values (an hour at most) always expire
before the generations (a week) that guard them. Other policies evict by use or at
random; `/readyz` warns about them.
"""

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from .models import OwedInvalidation
from .near_cache import near_cache
from .redis_outage import redis_outage

logger = logging.getLogger("tollgate.redis")

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
    if _owed_check_due() and _owed_paid():
        raw = near_cache().mget(keys)  # what was read may predate an owed invalidation
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


def generation(user_id: int) -> int:
    """The user's current generation (one GET; for writers that did not read it)."""
    return int(redis().get(generation_key(user_id)) or 0)


def _subject(user_id: int) -> str:
    return f"user:{user_id}"


def invalidate_after_commit(user_ids: Iterable[int | None], *, raise_errors: bool = True) -> None:
    """Owe these users' invalidation in the current transaction; pay it after commit.

    If Redis fails after commit the owed row stays (and is paid before any cached
    value is trusted again); the error is raised when `raise_errors`, e.g. so that a
    webhook answers 5xx and Stripe delivers it again.
    """
    ids = sorted({int(uid) for uid in user_ids if uid})
    if not ids:
        return
    owed = OwedInvalidation.objects.bulk_create(
        [OwedInvalidation(subject=_subject(uid)) for uid in ids]
    )
    row_ids = [row.pk for row in owed]
    transaction.on_commit(lambda: _pay(ids, row_ids, raise_errors=raise_errors))


def _pay(user_ids: list[int], row_ids: list[int], *, raise_errors: bool) -> None:
    try:
        invalidate(user_ids)
    except RedisError as exc:
        redis_outage.failed(exc)
        logger.error(
            "Could not invalidate the cache of user(s) %s; owed until Redis answers.",
            ", ".join(map(str, user_ids)),
        )
        if raise_errors:
            raise
        return
    OwedInvalidation.objects.filter(pk__in=row_ids).delete()


def owed_pay(*, user_ids: Iterable[int] | None = None) -> int:
    """Pay owed invalidations (every one, or these users'); returns how many rows were
    paid. Raises RedisError while Redis still fails (the rows then stay)."""
    rows = OwedInvalidation.objects.order_by("pk")
    if user_ids is not None:
        rows = rows.filter(subject__in=[_subject(uid) for uid in user_ids])
    owed = list(rows.values_list("pk", "subject")[:1000])
    if not owed:
        return 0
    invalidate({int(subject.partition(":")[2]) for _, subject in owed})
    OwedInvalidation.objects.filter(pk__in=[pk for pk, _ in owed]).delete()
    logger.info("Paid %d owed cache invalidation(s).", len(owed))
    return len(owed)


_next_owed_check: float | None = None


def _owed_check_due() -> bool:
    """After this process saw Redis fail: always. Otherwise every REDIS_REPLAY_INTERVAL,
    for what another process or host owes (it cannot tell us through Redis)."""
    global _next_owed_check
    now = time.monotonic()
    interval = float(settings.REDIS_REPLAY_INTERVAL)
    if _next_owed_check is None:  # a new process: the first look is one interval away
        _next_owed_check = now + interval
        if interval > 0 and not redis_outage.is_down:
            return False
    if not redis_outage.is_down and now < _next_owed_check:
        return False
    _next_owed_check = now + interval
    return True


def _owed_paid() -> bool:
    try:
        return owed_pay() > 0
    except DatabaseError:
        # Postgres is down: no revocation can commit now, and what was owed before
        # is looked for again on the next check.
        return False

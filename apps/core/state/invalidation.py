"""Invalidation: move a subject's generation, so nothing cached under the old one is
read again, and owe it durably so that a Redis failure delays it but never loses it.

`invalidate_after_commit` writes an OwedInvalidation row (apps/core/models.py) in the
caller's transaction, bumps the generations after commit and deletes the rows. If Redis
fails then, the rows stay and are paid before a cached value is trusted again: at once
by a process that saw Redis fail, and within REDIS_REPLAY_INTERVAL by every other
process (0: before every read, strict). docs/architecture.md, "The generation contract".

Redis must not evict generation keys before values: use `noeviction`, or `volatile-ttl`,
which evicts the keys nearest expiry first; values live an hour at most
(slots.VALUE_TTL_CEILING), generations a week after their last move. `/readyz` warns
about other policies.
"""

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django_redis import get_redis_connection
from redis.cluster import RedisCluster
from redis.exceptions import RedisError
from redis.sentinel import SentinelConnectionPool

from .. import replication, sentinel
from ..models import OwedInvalidation
from ..near_cache import near_cache
from .guard import guarded, is_down, reporting
from .subjects import Subject, names_owned_by, parse

logger = logging.getLogger("tollgate.redis")

GENERATION_TTL = 7 * 24 * 60 * 60
# Moves with every invalidation this thread makes, i.e. the current request's own (see
# Snapshot.get); other threads' invalidations reach their requests through Redis.
_local = threading.local()


def epoch() -> int:
    return getattr(_local, "epoch", 0)


def invalidate(subjects: Iterable[Subject]) -> None:
    """Make every cached value of these subjects unreadable, now and for racing writers.

    Raises RedisError when Redis did not take it (see `invalidate_after_commit`).
    """
    _local.epoch = epoch() + 1
    redis = get_redis_connection("default")
    unique = set(subjects)
    keys = [key for subject in unique for key in (subject.generation_key, *subject.value_keys())]
    with reporting():
        replicas = _replicas_to_wait_for(redis)
        for group in _transactions(redis, unique):
            commands = [command for subject in group for command in _moves(subject)]
            if replicas:
                # Replication is asynchronous: what no replica has, a failover may lose.
                # So it counts as taken only once `replicas` replicas have it too; WAIT
                # counts those of the connection's own node (on a Cluster, the tag's).
                target = (
                    redis.get_node_from_key(group[0].generation_key).redis_connection
                    if isinstance(redis, RedisCluster)
                    else redis
                )
                replication.transaction_then_wait(
                    target, commands, replicas=replicas, timeout_ms=settings.REDIS_WAIT_TIMEOUT
                )
            else:
                pipe = redis.pipeline(transaction=True)
                for command in commands:
                    pipe.execute_command(*command)
                pipe.execute()
        near_cache().evict(keys)
        near_cache().fence()  # every thread's copy is invalid once this returns


def _replicas_to_wait_for(redis: Any) -> int:
    """REDIS_WAIT_REPLICAS with Sentinel or on a Cluster; a lone Redis has none to wait for."""
    replicated = isinstance(redis, RedisCluster) or isinstance(
        getattr(redis, "connection_pool", None), SentinelConnectionPool
    )
    return int(settings.REDIS_WAIT_REPLICAS) if replicated else 0


def _moves(subject: Subject) -> list[tuple[Any, ...]]:
    """Move the generation (kept a week after its last move) and delete the values."""
    generation = subject.generation_key
    return [
        ("INCR", generation),
        ("EXPIRE", generation, GENERATION_TTL),
        ("DEL", *subject.value_keys()),
    ]


def _transactions(redis: Any, subjects: set[Subject]) -> list[list[Subject]]:
    """One MULTI for every subject on one Redis. On a Cluster a MULTI cannot span slots,
    so one per hash tag: each subject's move and deletes stay atomic, as the generation
    contract needs, and a failure part-way raises, so every row stays owed and the
    subjects already moved are moved again when it is paid (a move is never undone)."""
    if not isinstance(redis, RedisCluster):
        return [list(subjects)]
    by_tag: dict[str, list[Subject]] = {}
    for subject in subjects:
        by_tag.setdefault(subject.tag, []).append(subject)
    return list(by_tag.values())


def discard(subjects: Iterable[Subject]) -> None:
    """Delete these subjects' values now, best effort (a failure is only logged): what
    makes it stick is the generation that `invalidate_after_commit` moves."""
    keys = [key for subject in subjects for key in subject.value_keys()]

    def attempt() -> None:
        get_redis_connection("default").delete(*keys)
        near_cache().evict(keys)

    guarded(attempt, fallback=lambda: None)


def invalidate_after_commit(subjects: Iterable[Subject], *, raise_errors: bool = True) -> None:
    """Owe these subjects' invalidation in the current transaction; pay it after commit.

    If Redis fails after commit the owed rows stay (and are paid before any cached value
    is trusted again); the error is raised when `raise_errors`, e.g. so that a webhook
    answers 5xx and Stripe delivers it again.
    """
    unique = sorted(set(subjects), key=lambda s: s.name)
    if not unique:
        return
    owed = OwedInvalidation.objects.bulk_create(
        [OwedInvalidation(subject=subject.name) for subject in unique]
    )
    row_ids = [row.pk for row in owed]
    transaction.on_commit(lambda: _pay(unique, row_ids, raise_errors=raise_errors))


def _pay(subjects: list[Subject], row_ids: list[int], *, raise_errors: bool) -> None:
    try:
        invalidate(subjects)
    except RedisError:
        logger.error(
            "Could not invalidate the cache of %s; owed until Redis answers.",
            ", ".join(subject.name for subject in subjects),
        )
        if raise_errors:
            raise
        return
    OwedInvalidation.objects.filter(pk__in=row_ids).delete()


def owed_pay(*, user_id: int | None = None) -> int:
    """Pay owed invalidations (every one, or those of this user and their sessions);
    returns how many rows were paid. Raises RedisError while Redis still fails (the rows
    then stay)."""
    rows = OwedInvalidation.objects.order_by("pk")
    if user_id is not None:
        own, sessions = names_owned_by(user_id)
        rows = rows.filter(Q(subject=own) | Q(subject__startswith=sessions))
    owed = list(rows.values_list("pk", "subject")[:1000])
    if not owed:
        return 0
    invalidate({parse(name) for _, name in owed})
    OwedInvalidation.objects.filter(pk__in=[pk for pk, _ in owed]).delete()
    logger.info("Paid %d owed cache invalidation(s).", len(owed))
    return len(owed)


_next_owed_check: float | None = None


def owed_check_due() -> bool:
    """After this process saw Redis fail, or found a new primary (Sentinel): always.
    Otherwise every REDIS_REPLAY_INTERVAL, for what another process or host owes (it
    cannot tell us through Redis)."""
    global _next_owed_check
    if sentinel.primary_moved() is not None:  # it may lack what the old one acknowledged
        return True
    now = time.monotonic()
    interval = float(settings.REDIS_REPLAY_INTERVAL)
    if _next_owed_check is None:  # a new process: the first look is one interval away
        _next_owed_check = now + interval
        if interval > 0 and not is_down():
            return False
    if not is_down() and now < _next_owed_check:
        return False
    _next_owed_check = now + interval
    return True


def owed_paid() -> bool:
    """Pay what is owed; True if anything was (what was just read may predate it)."""
    moved = sentinel.primary_moved()
    try:
        paid = owed_pay()
        if moved is not None:
            sentinel.settled(moved)  # what was owed is now on the primary found then
        return paid > 0
    except DatabaseError:
        # Postgres is down: no revocation can commit now, and what was owed before
        # is looked for again on the next check.
        return False

""" "Last seen" for the sessions list, kept off the hot path.

Each session's activity used to rewrite the session (a Redis SET, a Postgres write, a
fence, and every near-cache copy of it dropped) plus its sessions-list row, once a
minute per member. Now:

- `record` puts the minute into that minute's bucket, a Redis hash nothing reads per
  request (`<prefix>:seen:<minute>`, kept an hour): no session write, no copy dropped,
  one round trip per session per minute per worker (a worker remembers what it sent);
- `flush_due`, run after a response has gone (`request_finished`), has each worker look
  every SESSION_SEEN_FLUSH_INTERVAL (60 s) for finished buckets; one worker claims each
  and writes it to the rows in a few UPDATEs (one per minute value, only ever moving a
  row forward); a bucket whose write failed is released and retried for 5 minutes;
- the sessions list flushes its own user's sessions first (`flush_for`), so the page
  shows the last minute without waiting for the batch.

Redis down: `record` writes the row directly, as before (slower, never lost).
The idle timeout does not depend on any of this: it is enforced from the session's own
stamp (apps/accounts/middleware.py).
"""

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import DatabaseError
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MINUTE = 60
RETRY_MINUTES = 5  # a bucket whose write failed is tried again for this long
BUCKET_TTL = 3600
_REMEMBERED = 50_000  # sessions a worker remembers having recorded; then it starts over
_sent: dict[str, int] = {}  # session key -> the minute this process last recorded
_last_look = time.monotonic()  # a new worker first looks one interval after it starts


def _key(minute: int) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:seen:{minute}"


def _minute(now: float) -> int:
    return int(now) // MINUTE * MINUTE


def record(session_key: str, *, now: float) -> None:
    """This session was active at `now` (resolution: a minute)."""
    minute = _minute(now)
    if _sent.get(session_key) == minute:
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hset(_key(minute), session_key, minute)
        pipe.expire(_key(minute), BUCKET_TTL)
        pipe.execute()
    except RedisError:
        _write({minute: [session_key]})  # slower, never lost
    if len(_sent) >= _REMEMBERED:
        _sent.clear()
    _sent[session_key] = minute


def flush_due() -> None:
    """After a response: `flush`, if this worker has not looked for SESSION_SEEN_FLUSH_INTERVAL."""
    global _last_look
    if time.monotonic() - _last_look < settings.SESSION_SEEN_FLUSH_INTERVAL:
        return
    _last_look = time.monotonic()
    flush()


def flush(*, now: float | None = None) -> None:
    """Claim and write the finished buckets of the last few minutes no worker has written.

    One round trip for the claims (SET NX in a pipeline); a bucket is claimed once, and
    released again if Postgres failed, so it is retried for RETRY_MINUTES."""
    finished = _minute(time.time() if now is None else now) - MINUTE
    minutes = [finished - MINUTE * back for back in range(RETRY_MINUTES)]
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for minute in minutes:
            pipe.set(_claim(minute), 1, nx=True, ex=BUCKET_TTL)
        claimed = [minute for minute, won in zip(minutes, pipe.execute(), strict=True) if won]
    except RedisError:
        return  # the buckets keep; a later look writes them
    for minute in claimed:
        _flush_bucket(minute)


def flush_for(session_keys: Iterable[str], *, now: float | None = None) -> None:
    """Write what the buckets hold for these sessions now (the sessions list's freshness)."""
    keys = list(session_keys)
    current = _minute(time.time() if now is None else now)
    if not keys:
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for minute in (current - MINUTE, current):
            pipe.hmget(_key(minute), keys)
        answers = pipe.execute()
    except RedisError:
        return  # the rows show what the last flush wrote
    by_minute: dict[int, list[str]] = defaultdict(list)
    for values in answers:
        for session_key, value in zip(keys, values, strict=True):
            if value is not None:
                by_minute[int(value)].append(session_key)
    _write(by_minute, best_effort=True)


def _claim(minute: int) -> str:
    return f"{_key(minute)}:claimed"


def _flush_bucket(minute: int) -> None:
    redis = get_redis_connection("default")
    try:
        entries = redis.hgetall(_key(minute))
    except RedisError:
        entries = None
    by_minute: dict[int, list[str]] = defaultdict(list)
    for session_key, value in (entries or {}).items():
        by_minute[int(value)].append(session_key.decode())
    if entries is None or not _write(by_minute, best_effort=True):
        with contextlib.suppress(RedisError):
            redis.delete(_claim(minute))  # let the next look try again


def _write(by_minute: dict[int, list[str]], *, best_effort: bool = False) -> bool:
    """Move each row's last_seen_at forward to its minute; False if Postgres failed."""
    try:
        for minute, keys in by_minute.items():
            seen = datetime.fromtimestamp(minute, tz=UTC)
            for start in range(0, len(keys), 1000):
                UserSession.objects.filter(
                    session_key__in=keys[start : start + 1000], last_seen_at__lt=seen
                ).update(last_seen_at=seen)
    except DatabaseError:
        if not best_effort:
            raise
        logger.warning("Could not write 'last seen' to the sessions list (database unavailable).")
        return False
    return True


def forget() -> None:
    """Drop what this process remembers, and start its interval again (tests)."""
    global _last_look
    _sent.clear()
    _last_look = time.monotonic()

""" "Last seen" for the sessions list, kept off the hot path.

Each session's activity used to rewrite the session (a Redis SET, a Postgres write, a
fence, and every near-cache copy of it dropped) plus its sessions-list row, once a
minute per member. Now:

- `record` notes the minute in this worker's buffer: no session write, no copy dropped,
  nothing sent during the request (a worker remembers what it noted, so a session costs
  it one entry a minute);
- `flush_due`, run after a response has gone (`request_finished`), sends the buffer into
  each minute's bucket, a Redis hash nothing reads per request (`<prefix>:seen:<minute>`,
  kept an hour), in one pipeline at most every SESSION_SEEN_SEND_INTERVAL (1 s) or once
  SEND_AT entries wait. With 10,000 members a worker so sends about once a second
  instead of once per member per minute. A worker that then receives no request keeps
  what it noted until its next request or its exit;
- once a minute the queue worker's periodic task (apps/accounts/tasks.py) looks for
  finished buckets (finished CLAIM_GRACE after their minute, so late sends land first);
  one worker claims each and writes it to the rows in a few UPDATEs (one per minute
  value, only ever moving a row forward); a bucket whose write failed is released and
  retried for 5 minutes. A web worker never does: in a sync worker those UPDATEs (up to
  one row per member) would hold up the next request;
- the sessions list flushes its own user's sessions first (`flush_for`, after sending
  this worker's buffer), so the page shows the last minute without waiting for the batch.

Redis down: the send writes the rows directly, as before (slower, never lost).
The idle timeout does not depend on any of this: it is enforced from the session's own
stamp (apps/accounts/middleware.py).
"""

import atexit
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
SEND_AT = 200  # noted entries that make a worker send at once, whatever the interval
CLAIM_GRACE = 10  # s after its minute before a bucket counts as finished (late sends)
_REMEMBERED = 50_000  # sessions a worker remembers having recorded; then it starts over
_sent: dict[str, int] = {}  # session key -> the minute this process last recorded
_buffer: dict[int, dict[str, int]] = defaultdict(dict)  # minute -> {session key: minute}
_buffered = 0
_last_send = float("-inf")  # a lone request on an idle worker is sent at once


def _key(minute: int) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:seen:{minute}"


def _minute(now: float) -> int:
    return int(now) // MINUTE * MINUTE


def record(session_key: str, *, now: float) -> None:
    """This session was active at `now` (resolution: a minute). Costs no round trip."""
    global _buffered
    minute = _minute(now)
    if _sent.get(session_key) == minute:
        return
    _buffer[minute][session_key] = minute
    _buffered += 1
    if len(_sent) >= _REMEMBERED:
        _sent.clear()
    _sent[session_key] = minute


def flush_due() -> None:
    """After a response: send what this worker noted (at most every
    SESSION_SEEN_SEND_INTERVAL, unless SEND_AT entries wait)."""
    if _buffered and (
        _buffered >= SEND_AT or time.monotonic() - _last_send >= settings.SESSION_SEEN_SEND_INTERVAL
    ):
        send()


def send() -> None:
    """Put what this worker noted into the minutes' buckets, in one round trip.
    Redis down: straight to the rows (Postgres down too: logged, the minute is lost)."""
    global _buffered, _last_send
    noted = dict(_buffer)
    _buffer.clear()
    _buffered = 0
    _last_send = time.monotonic()
    if not noted:
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for minute, entries in noted.items():
            pipe.hset(_key(minute), mapping=entries)
            pipe.expire(_key(minute), BUCKET_TTL)
        pipe.execute()
    except RedisError:
        _write({minute: list(entries) for minute, entries in noted.items()}, best_effort=True)


atexit.register(send)  # a worker that stops sends what it noted (best effort)


def flush(*, now: float | None = None) -> None:
    """Claim and write the finished buckets of the last few minutes no worker has written.

    One round trip for the claims (SET NX in a pipeline); a bucket is claimed once, and
    released again if Postgres failed, so it is retried for RETRY_MINUTES."""
    finished = _minute((time.time() if now is None else now) - CLAIM_GRACE) - MINUTE
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
    send()  # this worker's own notes first: the list is often the request after one
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
    """Drop what this process remembers and noted, and start its interval again (tests)."""
    global _last_send, _buffered
    _sent.clear()
    _buffer.clear()
    _buffered = 0
    _last_send = float("-inf")

"""The one guard around Redis: try it, else fall back; never grant on error.

Every cached value is an optimisation of a Postgres answer, so when Redis fails the
caller's fallback (Postgres) answers: slower, never wrong. The outage tracker
(apps/core/redis_outage.py) logs once and skips Redis for a moment after a failure,
so a dead Redis does not cost every request a connect timeout.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from redis.exceptions import RedisError

from ..redis_outage import redis_outage

T = TypeVar("T")


def guarded(attempt: Callable[[], T], *, fallback: Callable[[], T]) -> T:
    """`attempt()`, or `fallback()` if Redis fails (or failed a moment ago)."""
    if not redis_outage.should_try():
        return fallback()
    try:
        result = attempt()
    except RedisError as exc:
        redis_outage.failed(exc)
        return fallback()
    redis_outage.succeeded()
    return result


@contextmanager
def reporting() -> Iterator[None]:
    """Tell the outage tracker how a Redis call went; an error still propagates (for
    writers that must say so, e.g. a webhook answering 5xx so Stripe retries)."""
    try:
        yield
    except RedisError as exc:
        redis_outage.failed(exc)
        raise
    redis_outage.succeeded()


def is_down() -> bool:
    """True after a failure this process saw, until Redis answers again."""
    return redis_outage.is_down

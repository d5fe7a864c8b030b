"""Tracks whether Redis is reachable from this process, so an outage logs once.

It is also a small circuit breaker: after a failure, optional Redis reads are skipped
for a few seconds instead of every request waiting for the connect timeout.
"""

import logging
import threading
import time

logger = logging.getLogger("tollgate.redis")

RETRY_AFTER_SECONDS = 2.0


class RedisOutage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_failure = 0.0

    def should_try(self) -> bool:
        """False shortly after a failure: callers then go straight to their fallback."""
        return time.monotonic() - self._last_failure >= RETRY_AFTER_SECONDS

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._last_failure = time.monotonic()
            if self._down_since is None:
                self._down_since = self._last_failure
                logger.warning(
                    "Redis unreachable (%s); serving from Postgres until it is back.",
                    type(exc).__name__,
                )

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                logger.warning(
                    "Redis reachable again after %.1f s.", time.monotonic() - self._down_since
                )
                self._down_since = None
                self._last_failure = 0.0

    @property
    def is_down(self) -> bool:
        return self._down_since is not None


redis_outage = RedisOutage()

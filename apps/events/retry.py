"""When a failed delivery is tried again: exponential backoff with full jitter, capped.

The delay is computed by the delivery (services.delivery_attempt), which records it on
the row the admin shows, and handed to procrastinate through the exception it raises;
`Backoff` is the strategy that reads it, so the queue and the log always agree.
"""

import random
from datetime import datetime
from typing import Any

from django.conf import settings
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job


def backoff_delay(failures: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1, 2, …).

    The bound doubles from EVENTS_RETRY_BASE up to EVENTS_RETRY_CAP; the wait is drawn
    between half the bound and the bound ("equal jitter"), so deliveries that failed
    together (a receiver's outage) come back spread out, never sooner than half.
    """
    bound = min(settings.EVENTS_RETRY_CAP, settings.EVENTS_RETRY_BASE * 2 ** (failures - 1))
    return (rng or random).uniform(bound / 2, bound)


class DeliveryFailedError(Exception):
    """An attempt failed; `retry_at` is when to try again (None: it is dead)."""

    def __init__(self, message: str, *, retry_at: datetime | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class Backoff(BaseRetryStrategy):
    """Retry exactly when the failed delivery said; anything else is not retried."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> Any:
        if isinstance(exception, DeliveryFailedError) and exception.retry_at is not None:
            return RetryDecision(retry_at=exception.retry_at)
        return None

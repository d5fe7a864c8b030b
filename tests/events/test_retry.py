"""The wait after each failure: doubling from the base, capped, jittered, never below half."""

import random

import pytest
from django.utils import timezone
from procrastinate import RetryDecision

from apps.events.retry import Backoff, DeliveryFailedError, backoff_delay


@pytest.fixture(autouse=True)
def _schedule(settings):  # type: ignore[no-untyped-def]
    settings.EVENTS_RETRY_BASE = 5.0
    settings.EVENTS_RETRY_CAP = 3600.0


@pytest.mark.parametrize(("failures", "bound"), [(1, 5), (2, 10), (3, 20), (8, 640), (20, 3600)])
def test_the_wait_is_between_half_the_doubling_bound_and_the_bound(failures, bound):
    rng = random.Random(failures)
    waits = [backoff_delay(failures, rng=rng) for _ in range(500)]

    assert min(waits) >= bound / 2
    assert max(waits) <= bound
    assert max(waits) - min(waits) > bound / 4  # spread out, not one instant


def test_the_queue_retries_when_the_attempt_said_and_not_after_the_last():
    strategy = Backoff()
    failed = DeliveryFailedError("HTTP 500", retry_at=None)

    assert strategy.get_retry_decision(exception=failed, job=None) is None  # type: ignore[arg-type]
    assert strategy.get_retry_decision(exception=ValueError(), job=None) is None  # type: ignore[arg-type]

    when = timezone.now()
    decision = strategy.get_retry_decision(
        exception=DeliveryFailedError("HTTP 500", retry_at=when),
        job=None,  # type: ignore[arg-type]
    )
    assert isinstance(decision, RetryDecision)
    assert decision.retry_at == when

"""Billing settings parsed once, with errors that name the variable to fix."""

import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, *, variable: str) -> timedelta:
    """'0', '90', '90s', '30m', '12h', '3d' -> timedelta."""
    match = _DURATION.match(str(value))
    if not match:
        raise ImproperlyConfigured(
            f"{variable}={value!r} is not a duration; use e.g. 0, 3600, 30m, 12h or 3d."
        )
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])


def past_due_grace() -> timedelta:
    return parse_duration(settings.BILLING_PAST_DUE_GRACE, variable="BILLING_PAST_DUE_GRACE")


def free_features() -> frozenset[str]:
    return frozenset(settings.BILLING_FREE_FEATURES)


def webhook_rejection_rate() -> tuple[int, timedelta]:
    """BILLING_WEBHOOK_REJECTION_RATE, '30/10m': rejections per client IP per window."""
    value = str(settings.BILLING_WEBHOOK_REJECTION_RATE)
    count, _, window = value.partition("/")
    variable = "BILLING_WEBHOOK_REJECTION_RATE"
    if not count.strip().isdigit() or not window:
        raise ImproperlyConfigured(
            f"{variable}={value!r} is not a rate; use e.g. 30/10m (0/10m turns it off)."
        )
    duration = parse_duration(window, variable=variable)
    if duration.total_seconds() < 1:
        raise ImproperlyConfigured(f"{variable}={value!r} needs a window of at least 1s.")
    return int(count), duration

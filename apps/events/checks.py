"""Start-up checks for events: a retention that would delete the log as it is written
fails early, naming the variable."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register("events")
def check_retention(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    days = settings.EVENTS_RETENTION_DAYS
    if isinstance(days, int) and days >= 1:
        return []
    return [
        Error(
            f"EVENTS_RETENTION_DAYS must be a whole number of days, at least 1 (it is {days!r}).",
            hint="The default is 30: delivered and dead deliveries are kept that long.",
            id="events.E001",
        )
    ]

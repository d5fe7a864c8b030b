"""Services settings parsed once, with errors that name the variable to fix."""

from datetime import timedelta

from django.conf import settings

from apps.billing.conf import parse_duration


def secret_overlap() -> timedelta:
    """SERVICES_SECRET_OVERLAP: how long a rotated-out secret keeps working."""
    return parse_duration(settings.SERVICES_SECRET_OVERLAP, variable="SERVICES_SECRET_OVERLAP")

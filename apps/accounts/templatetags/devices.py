from typing import Any

from django import template

from apps.accounts.devices import device_description

register = template.Library()


@register.filter
def device(user_session: Any) -> str:
    """{{ session|device }} -> "Chrome on Linux, 127.0.0.1" for an allauth UserSession."""
    return device_description(user_agent=user_session.user_agent, ip=user_session.ip)

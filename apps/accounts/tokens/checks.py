"""Start-up checks for tokens: a bad lifetime fails early, naming the variable."""

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from . import conf


@register("accounts")
def check_token_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for parse in (conf.access_lifetime, conf.refresh_lifetime):
        try:
            parse()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="accounts.E010"))
    return errors

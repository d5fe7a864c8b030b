"""Keys in URLs stay out of the logs: reset and confirmation keys, the webhook's uuid."""

import logging
import re

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, ResolverMatch, resolve

# Where a route stops being plain text: a converter, a group or any regex syntax.
_ROUTE_SYNTAX = re.compile(r"[<(\\\[^$.*+?{|]")


def loggable_path(request: HttpRequest) -> str:
    """The request's path with every value captured from the URL, integers apart, shown as
    `<name>`: `/accounts/password/reset/key/<uidb36>-<key>/`. The query string is never logged.

    Reset and confirmation keys and the webhook's uuid travel in the path; anyone who can
    read the logs could use them. Redacting every captured string, not a list of known
    secrets, keeps a future key-carrying URL out of the logs too. Integers are row ids.
    Escaped as Django escapes paths in its own lines, so a path cannot forge a log line.
    """
    return _escaped(_redacted(request))


def _escaped(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def _redacted(request: HttpRequest) -> str:
    match = _resolver_match(request)
    if match is None:
        return request.path
    captured: dict[str, str] = {}
    for name, value in [*((f"arg{n}", v) for n, v in enumerate(match.args)), *match.kwargs.items()]:
        text = str(value)
        if text and not isinstance(value, int):
            captured.setdefault(text, f"<{name}>")
    if not captured:
        return request.path
    # The route's leading fixed segments hold no value (user 10's uidb36 is "a": the "a"
    # of "/accounts/" stays); if the path does not start with them, redact it all.
    fixed = "/" + _fixed_segments(match.route)
    start = len(request.path) - len(request.path_info)
    if request.path_info.startswith(fixed):
        start += len(fixed)
    # One pass, longest value first: a placeholder is never itself searched again.
    values = sorted(captured, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(value) for value in values))
    tail = pattern.sub(lambda found: captured[found[0]], request.path[start:])
    return request.path[:start] + tail


def _fixed_segments(route: str) -> str:
    """`accounts/password/reset/key/` of `accounts/password/reset/key/(?P<uidb36>...)`."""
    syntax = _ROUTE_SYNTAX.search(route)
    fixed = route[: syntax.start()] if syntax else route
    return fixed[: fixed.rfind("/") + 1]


def _resolver_match(request: HttpRequest) -> ResolverMatch | None:
    """The view's match, or what the path resolves to when no view ran (a redirect to
    HTTPS, APPEND_SLASH's redirect): those paths may carry a key too."""
    match: ResolverMatch | None = getattr(request, "resolver_match", None)
    if match is not None or request.path_info.startswith(settings.STATIC_URL or "/static/"):
        return match  # whitenoise's files carry no key; resolving them costs ~0.2 ms
    urlconf = getattr(request, "urlconf", None)
    candidates = [request.path_info]
    if settings.APPEND_SLASH and not request.path_info.endswith("/"):
        candidates.append(request.path_info + "/")
    for path in candidates:
        try:
            return resolve(path, urlconf)
        except Resolver404:
            continue
    return None


class RedactedPathFilter(logging.Filter):
    """Redacts the path in Django's own lines ("Forbidden (CSRF token missing.): /path",
    "Internal Server Error: /path"), which carry the request they are about."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and isinstance(record.args, tuple):
            path = _escaped(request.path)  # as log_response passes it
            if path in record.args:
                redacted = loggable_path(request)
                record.args = tuple(redacted if arg == path else arg for arg in record.args)
        return True

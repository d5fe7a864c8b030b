"""django-csp's middleware, with the settings' policy header built once, not per response.

django-csp 4.0 builds both headers (the policy, and the report-only one even when none
is configured) from settings on every response: a copy of every directive, a sort, a
join, and a dataclass `asdict` each time. On a small page that was about a fifth of the
request's instructions (bench/README.md, "Where the time goes"). When nothing about the
response changes the policy (no `@csp_update`/`@csp_replace`/`@csp` decorator on the view,
no nonce used), the header is a function of settings alone: here it is built once, by
django-csp's own `build_policy`, and reused. Every other response goes through django-csp
unchanged, so its rules (debug pages, exemptions, excluded prefixes, a header the view
set itself) are the ones documented upstream; tests/core/test_csp.py compares the two
on each case.
"""

from functools import cache
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# What django-csp's decorators set on a response to change its policy.
_RESPONSE_OVERRIDES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_DEBUG_EXEMPT_CODES = (500, 404)  # django-csp leaves Django's debug pages alone


@cache
def _from_settings() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, value, the response attribute that exempts it, excluded path prefixes)."""
    parts = []
    for header, setting, exempt, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro", True),
    ):
        value = build_policy(report_only=report_only)
        if value:
            policy = getattr(settings, setting, None) or {}
            prefixes = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())
            parts.append((header, value, exempt, prefixes))
    return tuple(parts)


def reset(*, setting: str = "", **_: Any) -> None:
    """Connected to `setting_changed` (apps.py), so a test that changes the policy is obeyed."""
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _from_settings.cache_clear()


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _RESPONSE_OVERRIDES
        ):
            return super().process_response(request, response)  # per-response policy
        if response.status_code in _DEBUG_EXEMPT_CODES and settings.DEBUG:
            return response
        for header, value, exempt, prefixes in _from_settings():
            if (
                header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

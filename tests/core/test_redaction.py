"""The request log names a URL's captured values, not the values (apps/core/redaction.py)."""

import logging
import uuid
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter

from apps.core.redaction import RedactedPathFilter, loggable_path

SAMPLE = "Zq7SampleKey"


def _path_of(pattern: URLPattern, namespace: str | None) -> str | None:
    """A path to `pattern` with SAMPLE (or a uuid) in every captured string."""
    converters = getattr(pattern.pattern, "converters", {})
    kwargs: dict[str, Any] = {}
    for name in pattern.pattern.regex.groupindex:
        converter = converters.get(name)
        if isinstance(converter, IntConverter):
            kwargs[name] = 7
        elif isinstance(converter, UUIDConverter):
            kwargs[name] = uuid.UUID(int=0x5EC2E7)
        else:
            kwargs[name] = SAMPLE
    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:  # a pattern that takes fixed choices (admin app labels) only
        return None


def _routes(patterns: list[Any], namespace: str | None = None) -> list[tuple[URLPattern, str]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            found += _routes(entry.url_patterns, inner)
        elif entry.name and entry.pattern.regex.groupindex:
            path = _path_of(entry, namespace)
            if path is not None:
                found.append((entry, path))
    return found


def test_every_route_that_captures_a_string_logs_its_name_not_its_value():
    routes = _routes(get_resolver().url_patterns)
    names = {entry.name for entry, _ in routes}
    assert {"account_confirm_email", "account_reset_password_from_key", "stripe_webhook"} <= names

    for entry, path in routes:
        logged = loggable_path(RequestFactory().get(path))
        assert SAMPLE not in logged, entry.name
        assert str(uuid.UUID(int=0x5EC2E7)) not in logged, entry.name


def test_a_reset_link_is_logged_with_placeholders_only_where_the_values_were():
    # User 10 is "a" in base 36: the route's own words keep their letters.
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "a", "key": "s"})

    assert loggable_path(RequestFactory().get(path)) == (
        "/accounts/password/reset/key/<uidb36>-<key>/"
    )


def test_integer_ids_and_plain_paths_are_logged_as_they_are():
    ended = reverse("accounts:session_end", kwargs={"pk": 42})

    assert loggable_path(RequestFactory().get(ended)) == "/accounts/sessions/42/end/"
    assert loggable_path(RequestFactory().get("/pricing/?coupon=SECRET")) == "/pricing/"
    assert loggable_path(RequestFactory().get("/no/such/page/")) == "/no/such/page/"


def test_a_key_url_without_its_trailing_slash_is_still_redacted():
    path = reverse("account_confirm_email", args=[SAMPLE]).rstrip("/")

    assert loggable_path(RequestFactory().get(path)) == "/accounts/confirm-email/<key>"


def test_djangos_own_line_about_a_key_url_gets_the_redacted_path():
    request = RequestFactory().post(reverse("account_confirm_email", args=[SAMPLE]))
    record = logging.LogRecord(
        "django.security.csrf",
        logging.WARNING,
        __file__,
        1,
        "Forbidden (%s): %s",
        ("CSRF cookie not set.", request.path),
        None,
    )
    record.request = request

    assert RedactedPathFilter().filter(record) is True
    assert record.getMessage() == "Forbidden (CSRF cookie not set.): /accounts/confirm-email/<key>/"


@pytest.mark.parametrize("args", [("no request",), ()])
def test_lines_without_a_request_pass_unchanged(args):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s" * len(args), args, None)

    assert RedactedPathFilter().filter(record) is True
    assert record.args == args


def test_a_path_cannot_forge_a_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="tollgate.request"):
        client.get("/no-such-page%0A2026-01-01 INFO tollgate.request method=GET path=/admin/")

    [line] = [r.getMessage() for r in caplog.records if r.name == "tollgate.request"]
    assert "\n" not in line
    assert "path=/no-such-page\\n2026-01-01" in line

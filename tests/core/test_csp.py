"""apps/core/csp.py answers every response with the headers django-csp's own middleware
would give it; it only builds the settings' policy once instead of per response."""

from collections.abc import Callable

import pytest
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from apps.core import csp

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report"}}
EXCLUDING = {"EXCLUDE_URL_PREFIXES": ["/excluded"], "DIRECTIVES": {"default-src": ["'self'"]}}


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


@csp_update({"img-src": "https://images.example"})
def updated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


@csp_replace({"script-src": "https://scripts.example"})
def replaced(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


@csp_exempt()
def exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


def with_nonce(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"nonce {request.csp_nonce}")  # type: ignore[attr-defined]


def own_header(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("page")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def failing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("error", status=500)


def headers(middleware_class: type, view: Callable[..., HttpResponse], path: str) -> dict:
    middleware = middleware_class(view)
    request = RequestFactory().get(path)
    response = middleware(request)
    found = {name: response.get(name) for name in HEADERS}
    if "nonce" in response.content.decode():
        # A nonce differs per request: compare the policy's shape around it.
        nonce = response.content.decode().split()[-1]
        found = {name: (value or "").replace(nonce, "<n>") for name, value in found.items()}
    return found


CASES = [
    ("plain", plain, "/page"),
    ("updated", updated, "/page"),
    ("replaced", replaced, "/page"),
    ("exempt", exempt, "/page"),
    ("nonce", with_nonce, "/page"),
    ("own header", own_header, "/page"),
    ("server error", failing, "/page"),
]


@pytest.mark.parametrize(("name", "view", "path"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("debug", [False, True])
def test_every_response_gets_django_csps_headers(name, view, path, debug) -> None:
    with override_settings(DEBUG=debug):
        assert headers(csp.CSPMiddleware, view, path) == headers(DjangoCSPMiddleware, view, path)


@pytest.mark.parametrize(
    ("policy", "report_only", "path"),
    [
        (EXCLUDING, None, "/excluded/page"),
        (EXCLUDING, None, "/page"),
        (EXCLUDING, REPORT_ONLY, "/page"),
        (None, REPORT_ONLY, "/page"),
    ],
)
def test_the_settings_policy_follows_settings(policy, report_only, path) -> None:
    """Built once per settings: a changed policy (here by override_settings, which
    sends setting_changed) is built again."""
    headers(csp.CSPMiddleware, plain, "/page")  # the project's policy, built and kept
    with override_settings(
        CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only
    ):
        ours = headers(csp.CSPMiddleware, plain, path)
        assert ours == headers(DjangoCSPMiddleware, plain, path)
    after = headers(csp.CSPMiddleware, plain, "/page")
    assert after == headers(DjangoCSPMiddleware, plain, "/page")


def test_the_header_is_built_once(monkeypatch) -> None:
    csp.reset(setting="CONTENT_SECURITY_POLICY")
    built = []
    monkeypatch.setattr(csp, "build_policy", lambda **kw: built.append(kw) or "default-src 'self'")
    for _ in range(3):
        headers(csp.CSPMiddleware, plain, "/page")
    assert len(built) == 2  # the policy and the report-only one, once each
    csp.reset(setting="CONTENT_SECURITY_POLICY")


def test_a_nonce_asked_for_after_the_header_is_an_error() -> None:
    request = RequestFactory().get("/page")
    csp.CSPMiddleware(plain)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]

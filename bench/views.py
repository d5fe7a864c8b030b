"""The pages the benchmark compares. Each returns the same small page."""

import jwt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from apps.billing.access.gating import access_required
from apps.core import state
from apps.core.near_cache import near_cache

PAGE = "<!doctype html><title>Reports</title><main><h1>Reports</h1>" + "<p>member content</p>" * 20


def bare(request: HttpRequest) -> HttpResponse:
    """No auth at all: the ceiling."""
    return HttpResponse(PAGE)


@login_required
def stock(request: HttpRequest) -> HttpResponse:
    """Stock Django session auth (served by bench.settings_stock)."""
    return HttpResponse(PAGE)


@access_required(feature="reports")
def gated(request: HttpRequest) -> HttpResponse:
    """Tollgate: session, identity snapshot and Access from the thread's near cache."""
    return HttpResponse(PAGE)


def gated_miss(request: HttpRequest) -> HttpResponse:
    """Tollgate right after an invalidation: every request recomputes from Postgres."""
    state.invalidate([state.user(int(request.session[SESSION_KEY]))])
    return gated(request)


def gated_cold_thread(request: HttpRequest) -> HttpResponse:
    """Tollgate on a worker thread that has not served this member yet: one MGET."""
    near_cache().clear()
    return gated(request)


def jwt_gate(request: HttpRequest) -> HttpResponse:
    """Reference: an HS256 JWT verified from a cookie, no I/O (and no revocation)."""
    try:
        claims = jwt.decode(
            request.COOKIES.get("jwt", ""), settings.SECRET_KEY, algorithms=["HS256"]
        )
    except jwt.InvalidTokenError:
        return HttpResponse(status=401)
    if "reports" not in claims.get("features", []):
        return HttpResponse(status=403)
    return HttpResponse(PAGE)

"""Request plumbing: one log line per request (with a request id), friendly 503s."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template
from redis.exceptions import RedisError

from .redaction import loggable_path

logger = logging.getLogger("tollgate.request")

OUTAGE_ERRORS = (RedisError, DatabaseError)

# A proxy's id is reused only when it looks like an id, so nothing odd reaches the logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestLogMiddleware:
    """Logs method, path (keys redacted), status, duration and request id; returns the id
    as X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request_id
        logger.info(
            "method=%s path=%s status=%s duration_ms=%.1f request_id=%s",
            request.method,
            loggable_path(request),
            response.status_code,
            duration_ms,
            request_id,
        )
        return response


class ServiceUnavailableMiddleware:
    """Turns a Redis or Postgres outage inside a view into a friendly 503.

    Nothing is granted on such an error: the view did not run to completion. Login
    attempts whose rate limit cannot be checked (Redis down) are refused this way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.error(
            "Dependency unavailable (%s) for %s %s",
            type(exception).__name__,
            request.method,
            loggable_path(request),
        )
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": "service_unavailable"}, status=503)
        html = get_template("503.html").render({})  # no request: nothing may touch Redis/DB
        return HttpResponse(html, status=503, headers={"Retry-After": "30"})

"""Who is calling: a service's HTTP Basic credentials (RFC 7662 §2.1, RFC 6749 §2.3.1).

A failed attempt (no credentials, a malformed header, an unknown client id, a wrong or
revoked secret) is counted through allauth's rate limits, per client IP and per client
id (SERVICES_AUTH_FAILURE_RATE, action `service_auth_failed`); past the limit it is
answered 429 instead of 401. Valid credentials are never counted or blocked, for the
same reason as Stripe's signed webhooks (apps/billing/webhook_guard.py): anyone can
send bad secrets under a real client id, and that must not lock the real service out.
Secrets are 256 random bits, so there is nothing to guess; the limit keeps a
misconfigured or hostile client from turning into a flood of Postgres lookups and log
lines. A counter outage answers the plain 401: the request is refused either way.
"""

import base64
import binascii
import logging
from urllib.parse import unquote_plus

from allauth.core import ratelimit
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from . import credentials
from .credentials import Credential

logger = logging.getLogger(__name__)

RATE_LIMIT_ACTION = "service_auth_failed"
REALM = "tollgate"


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """(client id, secret) from the Authorization header, or None."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 512:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    # RFC 6749 §2.3.1: both are form-encoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate(request: HttpRequest) -> Credential | None:
    presented = basic_credentials(request)
    if presented is None:
        return None
    return credentials.authenticate(*presented)


def refused(request: HttpRequest) -> JsonResponse:
    """401 invalid_client (RFC 6749 §5.2), or 429 once this IP or client id failed too often."""
    presented = basic_credentials(request)
    client_id = presented[0][:64] if presented else ""
    try:
        allowed = ratelimit.consume(request, action=RATE_LIMIT_ACTION, key=client_id)
    except (RedisError, ConnectionInterrupted, PermissionDenied) as exc:
        logger.warning("Service authentication counter unavailable (%s)", type(exc).__name__)
        allowed = True
    if not allowed:
        return JsonResponse(
            {"error": "too_many_requests"}, status=429, headers={"Retry-After": "60"}
        )
    logger.warning("Refused service credentials (client id %s)", _loggable(client_id))
    return JsonResponse(
        {"error": "invalid_client"},
        status=401,
        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
    )


def _loggable(client_id: str) -> str:
    """A client id is not a secret, but whatever was sent in its place might be one."""
    return client_id if credentials.is_client_id(client_id) else "<malformed>"

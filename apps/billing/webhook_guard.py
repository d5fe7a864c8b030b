"""A guard in front of dj-stripe's webhook view: only Stripe's signed deliveries pass.

dj-stripe stores every request it receives (a WebhookEventTrigger row with the whole
body) and logs unparseable bodies whole at ERROR, all before it checks the signature.
This guard checks first, so nothing unsigned is ever stored or logged:

- another method, content type, or a body over BILLING_WEBHOOK_MAX_BYTES: 405/415/413;
- dj-stripe's `X-Djstripe-Webhook-Secret` header, which under DEBUG replaces the
  endpoint's secret with one the sender chooses: refused (Stripe never sends it);
- a missing, wrong or older-than-300-s signature under the endpoint's secret: 400.

Rejections are counted per client IP in Redis (BILLING_WEBHOOK_REJECTION_RATE); past
the limit they answer 429. A valid signature is never counted or blocked, because
Stripe's delivery IPs also carry other Stripe accounts' events aimed at our URL, and a
counter outage lets rejections through as plain 400s (fail open): the counter only
ever protects, it can never stop a real delivery.
"""

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import stripe
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_redis.exceptions import ConnectionInterrupted
from djstripe.models import WebhookEndpoint
from djstripe.views import ProcessWebhookView
from redis.exceptions import RedisError

from . import conf

logger = logging.getLogger(__name__)

# Stripe's own default: a signature older than five minutes is a replay.
TOLERANCE_SECONDS = 300
DJSTRIPE_SECRET_HEADER = "HTTP_X_DJSTRIPE_WEBHOOK_SECRET"  # noqa: S105 - a header name


def rejection_key(ip: str) -> str:
    return "billing:webhook-rejections:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def _client_ip(request: HttpRequest) -> str:
    # allauth's adapter: the same client IP (and trusted-proxy settings) as login limits.
    try:
        return str(get_adapter(request).get_client_ip(request))
    except PermissionDenied:  # no IP at all is still a rejection to answer
        return "unknown"


def _rejected(request: HttpRequest, reason: str, status: int = 400) -> HttpResponse:
    """Count this rejection for the client IP; 429 once it is over the limit."""
    ip = _client_ip(request)
    limit, window = conf.webhook_rejection_rate()
    try:
        key = rejection_key(ip)
        cache.add(key, 0, timeout=int(window.total_seconds()))
        count = int(cache.incr(key))
    except (RedisError, ConnectionInterrupted) as exc:  # fail open: an outage blocks nothing
        logger.warning("Webhook rejection counter unavailable (%s)", type(exc).__name__)
        count = 0
    if limit and count > limit:
        if count == limit + 1:
            logger.warning("Webhook rejections from %s passed %d; answering 429", ip, limit)
        retry_after = str(int(window.total_seconds()))
        return JsonResponse(
            {"error": "too_many_rejections"}, status=429, headers={"Retry-After": retry_after}
        )
    logger.warning("Refused webhook from %s: %s", ip, reason)
    return JsonResponse({"error": reason}, status=status)


def _signature_valid(request: HttpRequest, body: bytes, secret: str) -> bool:
    header = request.headers.get("Stripe-Signature", "")
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        return False
    return True


def _refusal(request: HttpRequest, uuid: Any) -> HttpResponse | None:
    """The answer for anything that is not a signed Stripe delivery, else None."""
    if request.method != "POST":
        return JsonResponse({"error": "method_not_allowed"}, status=405, headers={"Allow": "POST"})
    if request.content_type != "application/json":
        return JsonResponse({"error": "unsupported_media_type"}, status=415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "bad_request"}, status=400)
    limit = settings.BILLING_WEBHOOK_MAX_BYTES
    if length > limit:
        return JsonResponse({"error": "payload_too_large"}, status=413)
    if DJSTRIPE_SECRET_HEADER in request.META:
        return _rejected(request, "forbidden_header")
    endpoint = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
    if endpoint is None:
        return _rejected(request, "not_found", status=404)
    if not endpoint.secret:
        logger.error("Webhook endpoint %s has no secret: set STRIPE_WEBHOOK_SECRET", uuid)
        return JsonResponse({"error": "not_configured"}, status=503)
    body = request.body
    if len(body) > limit:  # a body sent without Content-Length
        return JsonResponse({"error": "payload_too_large"}, status=413)
    if not _signature_valid(request, body, endpoint.secret):
        return _rejected(request, "bad_signature")
    return None


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = _refusal(request, kwargs.get("uuid"))
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    return wrapper


stripe_webhook = guarded(ProcessWebhookView.as_view())

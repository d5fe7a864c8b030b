"""A guard in front of dj-stripe's webhook view for requests Stripe never sends.

dj-stripe verifies the signature; this refuses, before anything is read or stored,
what is not a Stripe delivery at all: another method, another content type, or a
body larger than BILLING_WEBHOOK_MAX_BYTES.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from djstripe.views import ProcessWebhookView


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return JsonResponse(
                {"error": "method_not_allowed"}, status=405, headers={"Allow": "POST"}
            )
        if request.content_type != "application/json":
            return JsonResponse({"error": "unsupported_media_type"}, status=415)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"error": "bad_request"}, status=400)
        if length > settings.BILLING_WEBHOOK_MAX_BYTES:
            return JsonResponse({"error": "payload_too_large"}, status=413)
        return view(request, *args, **kwargs)

    return wrapper


stripe_webhook = guarded(ProcessWebhookView.as_view())

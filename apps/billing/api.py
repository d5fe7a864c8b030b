"""`GET /api/session`: is this session valid, and what may it do? For other services.

It lives with the Access it serialises (`Access.as_json`, the one codec), so accounts
knows nothing of billing.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.activity import not_activity

from .access.resolver import access_for_request


@not_activity  # asking whether a session is valid must not keep it alive
@never_cache
@require_GET
def session_introspect(request: HttpRequest) -> JsonResponse:
    """200 with the user and their Access for a signed-in session, else 401."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    access = access_for_request(request)  # the request's snapshot: no extra round trip
    body = {
        "user": {"id": user.pk, "email": user.email, "name": user.name},
        "access": access.as_json(),
    }
    return JsonResponse(body)

"""`GET /api/session` (a session cookie) and `GET /api/v1/me` (a bearer access token):
who is this, and what may they use? For other services and API clients.

They live with the Access they serialise (`Access.as_json`, the one codec), so accounts
knows nothing of billing.
"""

from typing import cast

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.accounts.models import User
from apps.accounts.tokens.bearer import token_required
from apps.accounts.tokens.verify import VerifiedToken
from apps.core.activity import not_activity

from .access.resolver import access_for_request, access_for_user


def _identity(user: User) -> dict[str, object]:
    return {"id": user.pk, "email": user.email, "name": user.name}


@not_activity  # asking whether a session is valid must not keep it alive
@never_cache
@require_GET
def session_introspect(request: HttpRequest) -> JsonResponse:
    """200 with the user and their Access for a signed-in session, else 401."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    access = access_for_request(request)  # the request's snapshot: no extra round trip
    return JsonResponse({"user": _identity(user), "access": access.as_json()})


@not_activity  # a token request never moves the session's idle clock; a refresh does
@never_cache
@require_GET
@token_required
def token_me(request: HttpRequest) -> JsonResponse:
    """200 with the token's user and their Access now; 401/400 per RFC 6750 otherwise.

    Access comes from the state read while verifying the token, under the user's current
    generation (near-cached: no round trip on a hit), never from the token itself.
    """
    verified = cast(VerifiedToken, request.token)  # type: ignore[attr-defined]
    access = access_for_user(verified.user, snapshot=verified.snapshot)
    return JsonResponse({"user": _identity(verified.user), "access": access.as_json()})

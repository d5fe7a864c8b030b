"""`POST /oauth/introspect` (RFC 7662) and `POST /oauth/revoke` (RFC 7009), for other services.

Both authenticate the calling service first (client_auth.py), then read one form field,
`token`, with an optional `token_type_hint` (token_kinds.py). Answers are JSON and never
cached anywhere (`Cache-Control: no-store`, RFC 7662 §4): the answer is right only until
the next webhook or sign-out, and a cache along the way would have no way to know when
that is. A service that keeps an answer anyway delays every revocation by as long as it
keeps it. Neither endpoint logs the token or the secret, and asking is not activity.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from apps.accounts.services import SignOutNotConfirmedError
from apps.core.activity import not_activity

from . import client_auth, token_kinds
from .credentials import Credential


def _bad_request(description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


def _token(request: HttpRequest) -> tuple[str, str | None] | JsonResponse:
    """(token, hint) from the form body, or the 400 that says what is wrong."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _bad_request("Content-Length is not a number.")
    limit = settings.SERVICES_TOKEN_MAX_LENGTH
    if length > limit + 256:  # room for the field names and a hint
        return _bad_request("The request body is too large.")
    token = request.POST.get("token", "")
    if not token:
        return _bad_request("The token parameter is missing.")
    if len(token) > limit:
        return _bad_request(f"The token is longer than {limit} characters.")
    return token, request.POST.get("token_type_hint") or None


@method_decorator([csrf_exempt, never_cache], name="dispatch")  # Basic auth, no cookies
class OAuthEndpointView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        service = client_auth.authenticate(request)
        if service is None:
            return client_auth.refused(request)
        parsed = _token(request)
        if isinstance(parsed, JsonResponse):
            return parsed
        token, hint = parsed
        return self.answer(service, token, hint)

    def answer(self, service: Credential, token: str, hint: str | None) -> HttpResponse:
        raise NotImplementedError


class TokenIntrospectView(OAuthEndpointView):
    """RFC 7662: `{"active": true, "sub", "username", "email", "exp", "access", ...}` for a
    valid token, `{"active": false}` for anything else."""

    def answer(self, service: Credential, token: str, hint: str | None) -> HttpResponse:
        found = token_kinds.introspect(token, hint=hint)
        return JsonResponse(found.as_json() if found else token_kinds.INACTIVE)


class TokenRevokeView(OAuthEndpointView):
    """RFC 7009: ends the token and answers 200, also for a token that is unknown or
    already ended (§2.2); only services allowed to revoke (`may_revoke`) may call it."""

    def answer(self, service: Credential, token: str, hint: str | None) -> HttpResponse:
        if not service.may_revoke:
            return JsonResponse(
                {
                    "error": "unauthorized_client",
                    "error_description": "This service may not revoke tokens.",
                },
                status=400,
            )
        try:
            token_kinds.revoke(token, hint=hint)
        except SignOutNotConfirmedError:
            # Ended in Postgres; Redis has not confirmed yet (owed, paid when it answers).
            # §2.2.1: 503 tells the service to try again, which confirms it.
            return JsonResponse(
                {"error": "temporarily_unavailable"}, status=503, headers={"Retry-After": "1"}
            )
        return HttpResponse(status=200)


token_introspect = not_activity(TokenIntrospectView.as_view())
token_revoke = not_activity(TokenRevokeView.as_view())

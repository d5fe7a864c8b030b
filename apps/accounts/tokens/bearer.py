"""Bearer tokens for our API views, as RFC 6750 says: the header, the errors, the gate.

Only the Authorization header carries a token (RFC 6750 §2.1): a token in the query
string ends up in proxies' logs and browser history, so `access_token` there (or in a
form body) is refused, not read. Every refusal is a 400 or 401 with a
`WWW-Authenticate: Bearer ...` challenge and a JSON body of the same error; neither
ever repeats the token, and nothing here logs it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .codec import TokenExpiredError, TokenInvalidError
from .verify import TokenInactiveError, VerifiedToken, access_token_verify

REALM = "tollgate"
SCHEME = "Bearer"
_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 §2.1 b64token


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str | None  # None: no credentials at all (RFC 6750 §3.1: no error code)
    description: str

    def response(self) -> JsonResponse:
        challenge = f'{SCHEME} realm="{REALM}"'
        if self.error:
            challenge += f', error="{self.error}", error_description="{self.description}"'
        body = {"error": self.error or "not_authenticated", "error_description": self.description}
        response = JsonResponse(body, status=self.status)
        response["WWW-Authenticate"] = challenge
        response["Cache-Control"] = "no-store"
        return response


class BearerError(Exception):
    """A refused request; a new one each time, so no traceback outlives its request."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.description)
        self.refusal = refusal


MISSING = Refusal(401, None, "Send an access token: Authorization: Bearer <token>.")
MALFORMED_HEADER = Refusal(
    400, "invalid_request", "The Authorization header must be: Bearer <token>."
)
NOT_IN_HEADER = Refusal(
    400, "invalid_request", "Send the access token in the Authorization header only."
)
INVALID = Refusal(401, "invalid_token", "The access token is invalid.")
EXPIRED = Refusal(401, "invalid_token", "The access token expired; refresh it.")
INACTIVE = Refusal(401, "invalid_token", "The access token is no longer active.")


def credential(request: HttpRequest) -> str:
    """The bearer token of the request's Authorization header; raises BearerError."""
    if "access_token" in request.GET or "access_token" in request.POST:
        raise BearerError(NOT_IN_HEADER)
    header = request.headers.get("Authorization")
    if header is None:
        raise BearerError(MISSING)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        raise BearerError(MISSING)  # another scheme: no bearer credentials were sent
    token = token.strip()
    if not token or not _TOKEN68.match(token):
        raise BearerError(MALFORMED_HEADER)
    return token


def authenticate(request: HttpRequest) -> VerifiedToken:
    """The request's verified access token; raises BearerError."""
    token = credential(request)
    try:
        return access_token_verify(token)
    except TokenExpiredError:
        raise BearerError(EXPIRED) from None
    except TokenInactiveError:
        raise BearerError(INACTIVE) from None
    except TokenInvalidError:
        raise BearerError(INVALID) from None  # `from None`: no traceback of ours carries the token


ViewFunc = Callable[..., HttpResponse]


def token_required(view: ViewFunc) -> ViewFunc:
    """Gate a view on a bearer access token; the view gets `request.token` (VerifiedToken).

    The session cookie plays no part: a token request is its token's session's, or none.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            request.token = authenticate(request)  # type: ignore[attr-defined]
        except BearerError as refusal:
            return refusal.refusal.response()
        return view(request, *args, **kwargs)

    return wrapped

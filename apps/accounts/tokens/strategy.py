"""allauth headless's JWT token strategy, on our keys, claims and verification.

allauth's `JWTTokenStrategy` is subclassed at its public methods: it signs with one key
from settings and checks only signature and expiry (`HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED`
adds a session lookup, but no generations and no `kid`). Here:

- tokens are signed by the current key of keys.py (`kid` header), with `iss`, `aud`
  and the user's generation (`gen`); codec.py;
- an access token in place of X-Session-Token is accepted only as verify.py accepts it
  for our API (so a signed-out session's token no longer reaches allauth's endpoints);
- refresh tokens rotate, and the session keeps the `jti` of the one valid refresh token
  of its *family* (every token descending from one sign-in). allauth's strategy rotates
  but treats a replayed token as merely unknown; here a replay ends the session, which
  makes every token of the family inactive on its next use (OAuth 2.0 Security BCP,
  RFC 9700 §4.14: a replay means one of two holders is not the client).

Two refreshes racing with the same token cannot both win: the `jti` is compared and
replaced under a lock on the session's row, so the second finds the token already
rotated. It is then a reuse like any later replay, and ends the family: the server
cannot tell a client's retry from a thief racing the client (RFC 9700 §4.14.2 has it
revoke the active token either way). Clients refresh one at a time (single flight).
"""

import logging
import time
from datetime import UTC, datetime
from typing import Any

from allauth.headless import app_settings
from allauth.headless.tokens.strategies.jwt import JWTTokenStrategy
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest

from apps.core import state

from .. import services
from ..middleware import LAST_SEEN
from . import bearer, conf
from .codec import TokenInvalidError, access_encode, refresh_decode, refresh_encode
from .verify import REFRESH_JTI, access_token_verify, session_verify

logger = logging.getLogger(__name__)


class TokenStrategy(JWTTokenStrategy):
    def get_session_token(self, request: HttpRequest) -> str | None:
        token = request.headers.get("x-session-token")
        if token:
            return token
        try:
            verified = access_token_verify(bearer.credential(request))
        except (bearer.BearerError, TokenInvalidError):
            return None
        return verified.claims.session_key

    def create_access_token_payload(self, request: HttpRequest) -> dict[str, Any] | None:
        access_token = self.create_access_token(request)
        if access_token is None or request.user.pk is None:
            return None
        refresh_token = _refresh_issue(request.session, user_id=request.user.pk)
        request.session.save()
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": conf.access_lifetime(),
        }

    def create_access_token(self, request: HttpRequest) -> str | None:
        user = request.user
        if not user.is_authenticated:
            return None
        if not request.session.session_key:
            request.session.save()
        session_key = request.session.session_key
        assert session_key is not None  # noqa: S101 - just saved
        return _access_issue(user_id=user.pk, session_key=session_key)

    def refresh_token(self, refresh_token: str) -> tuple[str, str] | None:
        try:
            claims = refresh_decode(refresh_token)
            verified = session_verify(claims)
        except TokenInvalidError:
            return None
        session = verified.session
        with transaction.atomic():
            # Compare and replace the family's one valid jti under the row's lock: the
            # copy `session` was loaded from may predate a racing refresh's rotation.
            found, valid_jti = _locked_refresh_jti(session)
            if found and valid_jti == claims.jti:
                access_token = _access_issue(user_id=claims.user_id, session_key=claims.session_key)
                next_refresh_token = refresh_token
                if app_settings.JWT_ROTATE_REFRESH_TOKEN:
                    next_refresh_token = _refresh_issue(session, user_id=claims.user_id)
                session[LAST_SEEN] = int(time.time())  # for the sessions list
                session.save()
                return access_token, next_refresh_token
        if found:  # a rotated token, before or while its successor was issued: a reuse
            _family_end(user_id=claims.user_id, session_key=claims.session_key)
        return None


def _locked_refresh_jti(session: SessionBase) -> tuple[bool, str | None]:
    """(whether the session's row exists, the jti it keeps), the row locked FOR UPDATE
    until the caller's transaction ends; read from Postgres, the durable copy."""
    row = (
        session.get_model_class()  # type: ignore[attr-defined]  # DBStore's, not in the stubs
        .objects.select_for_update()
        .filter(session_key=session.session_key)
        .only("session_data")
        .first()
    )
    if row is None:
        return False, None  # ended meanwhile (a sign-out): inactive, nothing to end
    jti = session.decode(row.session_data).get(REFRESH_JTI)
    return True, jti if isinstance(jti, str) else None


def _access_issue(*, user_id: int, session_key: str) -> str:
    generation = state.read(user_id).generation  # near-cached: usually no round trip
    return access_encode(user_id=user_id, session_key=session_key, generation=generation)


def _refresh_issue(session: SessionBase, *, user_id: int) -> str:
    assert session.session_key is not None  # noqa: S101 - callers saved it
    token, claims = refresh_encode(user_id=user_id, session_key=session.session_key)
    session[REFRESH_JTI] = claims["jti"]
    # An app's session lives as long as its newest refresh token: TOKENS_REFRESH_LIFETIME
    # after the last refresh, the app's idle timeout (a browser's clocks are for cookies).
    session.set_expiry(datetime.fromtimestamp(claims["exp"], tz=UTC))
    return token


def _family_end(*, user_id: int, session_key: str) -> None:
    logger.warning(
        "A refresh token was replayed after rotation; ending its session (user %s).", user_id
    )
    try:
        services.session_end_by_key(session_key=session_key)
    except services.SignOutNotConfirmedError:
        logger.warning("The replayed token's session ended; Redis confirms it later.")

"""The `access_token` and `refresh_token` kinds: an API client's tokens (apps/accounts/tokens/),
asked about or revoked by another service.

Introspecting an access token is Tollgate's own verification (signature and claims
locally, then its session through the near cache), so another service learns what
`/api/v1/me` would answer: inactive once the session ended, the current Access after a
webhook. Revoking either token ends its session, and so every token of its sign-in
(RFC 7009 §2.1: revoking a grant's token may revoke the grant's other tokens).
Refresh tokens are never introspected: they are for the client and us only.
"""

from apps.accounts import services as accounts_services
from apps.accounts.signals import session_digest
from apps.accounts.tokens.codec import TokenInvalidError, refresh_decode
from apps.accounts.tokens.verify import access_token_verify
from apps.billing.access.resolver import access_for_user

from . import token_kinds

ACCESS_HINT = "access_token"
REFRESH_HINT = "refresh_token"


def introspect(token: str) -> token_kinds.Introspection | None:
    try:
        verified = access_token_verify(token)
    except TokenInvalidError:
        return None
    user = verified.user
    return token_kinds.Introspection(
        token_type=ACCESS_HINT,
        user_id=user.pk,
        email=user.email,
        name=user.name,
        expires_at=verified.claims.expires_at,
        issued_at=int(verified.claims.raw["iat"]),
        access=access_for_user(user, snapshot=verified.snapshot),
        # The session's digest, not the token's `sid` claim: that is the key encrypted
        # afresh in every token, so it would not match across a refresh or an event.
        session_id=session_digest(verified.claims.session_key),
    )


def revoke(token: str) -> bool:
    """Raises accounts' SignOutNotConfirmedError when Redis has not confirmed yet."""
    try:
        session_key = access_token_verify(token).claims.session_key
    except TokenInvalidError:
        return False
    return accounts_services.session_end_by_key(session_key=session_key)


def revoke_refresh(token: str) -> bool:
    try:
        session_key = refresh_decode(token).session_key
    except TokenInvalidError:
        return False
    return accounts_services.session_end_by_key(session_key=session_key)


def register() -> None:
    token_kinds.register(
        token_kinds.TokenKind(hint=ACCESS_HINT, introspect=introspect, revoke=revoke)
    )
    token_kinds.register(
        token_kinds.TokenKind(hint=REFRESH_HINT, introspect=lambda _: None, revoke=revoke_refresh)
    )

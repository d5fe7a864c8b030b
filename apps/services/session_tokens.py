"""The `session_id` token kind: a member's session cookie, asked about by another service.

Introspection reads the session as the member's own request would: one snapshot of
the access-state layer (the session's copy, its user's identity snapshot and Access in
one MGET, near-cached), Postgres on a miss. It never writes the session and is not
activity (it does not keep the session from going idle). Revocation ends the session
through the same path as "sign out other devices".
"""

import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS

from apps.accounts import identity
from apps.accounts import services as accounts_services
from apps.accounts.middleware import AUTHENTICATED_AT, LAST_SEEN
from apps.accounts.session_store import KEY_LENGTH, SessionStore, user_id_of
from apps.accounts.signals import session_digest
from apps.billing.access.resolver import access_for_user

from . import token_kinds

HINT = "session_id"
_KEY_CHARS = frozenset(VALID_KEY_CHARS + "-")


def _owner(token: str) -> int | None:
    """The user a signed-in session key names; None for anything else (no I/O)."""
    if len(token) != KEY_LENGTH or not _KEY_CHARS.issuperset(token):
        return None
    return user_id_of(token)


def expires_at(data: dict[str, Any], *, now: int) -> int | None:
    """When the server ends this session unless it is used again (absolute or idle,
    whichever comes first, as SessionTimeoutMiddleware enforces); None if past."""
    authenticated_at = int(data.get(AUTHENTICATED_AT, now))
    last_seen = int(data.get(LAST_SEEN, now))
    ends = min(
        authenticated_at + settings.SESSION_COOKIE_AGE,
        last_seen + settings.SESSION_IDLE_TIMEOUT,
    )
    return ends if ends >= now else None


def introspect(token: str) -> token_kinds.Introspection | None:
    if _owner(token) is None:
        return None
    store = SessionStore(session_key=token)
    data = store.load()
    snapshot = store.snapshot
    if not data or snapshot is None:
        return None
    now = int(time.time())
    ends = expires_at(data, now=now)
    if ends is None:
        return None
    user = identity.user_for_session(data, snapshot=snapshot)
    if user is None:
        return None
    return token_kinds.Introspection(
        token_type=HINT,
        user_id=user.pk,
        email=user.email,
        name=user.name,
        expires_at=ends,
        issued_at=int(data[AUTHENTICATED_AT]) if AUTHENTICATED_AT in data else None,
        access=access_for_user(user, snapshot=snapshot),
        session_id=session_digest(token),
    )


def revoke(token: str) -> bool:
    """Raises accounts' SignOutNotConfirmedError when Redis has not confirmed yet."""
    if _owner(token) is None:
        return False
    return accounts_services.session_end_by_key(session_key=token)


def register() -> None:
    token_kinds.register(token_kinds.TokenKind(hint=HINT, introspect=introspect, revoke=revoke))

"""Tollgate's verification of an access token: locally, then against the session's state.

The rule (docs/architecture.md, "How a team and a token plug in"):

- A token is **active** while the session it names is: the session's copy accepted
  under its user's and its own generation in the request's one MGET (near-cached: no
  round trip on a hit), else its row in Postgres; the session still names the token's
  user with the current auth hash, the user is active, and the session has not expired
  (an app's session expires when its refresh token does). Signing out that session (or
  every session, a password change, a deactivation, a replayed refresh token) moves the
  session's generation and deletes its row, so the next request finds it inactive.
- The token's `gen` is the user's generation at issue. An Access change (a webhook, the
  admin) moves it: the token stays active, `access_current` is False, and the caller
  takes the Access from the snapshot read here, under the current generation, never
  from anything the token carried. The token carries no Access at all for that reason.
"""

import time
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest

from apps.core import state

from .. import identity
from ..middleware import AUTHENTICATED_AT, LAST_SEEN
from ..models import User
from ..session_store import SessionStore, user_id_of
from .codec import Claims, TokenInvalidError, access_decode

REFRESH_JTI = "_tollgate_refresh_jti"  # in an app's session: its family's valid refresh token


class TokenInactiveError(TokenInvalidError):
    """Well signed and unexpired, but its session ended (or its user may no longer sign in)."""


@dataclass(frozen=True)
class VerifiedToken:
    user: User
    claims: Claims
    session: SessionStore
    snapshot: state.Snapshot  # the user's state, read with the session: Access is in it

    @property
    def access_current(self) -> bool:
        """Whether the Access the client saw at issue is still the user's Access."""
        return self.claims.generation is not None and (
            self.claims.generation == self.snapshot.generation
        )


def access_token_verify(token: str) -> VerifiedToken:
    """The user and state behind an active access token; raises TokenExpiredError,
    TokenInactiveError or TokenInvalidError (all TokenInvalidError)."""
    claims = access_decode(token)
    return session_verify(claims)


def session_verify(claims: Claims) -> VerifiedToken:
    """The session a token names, if it is still active for the token's user."""
    if user_id_of(claims.session_key) != claims.user_id:
        raise TokenInvalidError("sid names another user")
    store = SessionStore(claims.session_key)
    # Loaded once (the snapshot's copy, else Postgres, which re-caches it) and kept by
    # the store for identity below.
    if store.get(SESSION_KEY) != str(claims.user_id) or store.snapshot is None:
        raise TokenInactiveError("session ended")
    if REFRESH_JTI not in store and _cookie_clocks_ran_out(store):
        raise TokenInactiveError("session timed out")  # the next cookie request ends it
    user = _session_user(store)
    if user is None:
        raise TokenInactiveError("user signed out or inactive")
    return VerifiedToken(user=user, claims=claims, session=store, snapshot=store.snapshot)


def _cookie_clocks_ran_out(store: SessionStore) -> bool:
    """A browser's session: SESSION_MAX_AGE and SESSION_IDLE_TIMEOUT, as the middleware
    checks them. An app's session (one that issued a refresh token) ends instead when its
    refresh token expires unused: its expiry moves with every refresh (strategy.py)."""
    now = int(time.time())
    return (
        now - int(store.get(AUTHENTICATED_AT, now)) > settings.SESSION_COOKIE_AGE
        or now - int(store.get(LAST_SEEN, now)) > settings.SESSION_IDLE_TIMEOUT
    )


class _SessionOnly:
    """What identity.get_user reads of a request (its session), without an HttpRequest's
    construction cost (a fifth of a near-cache hit's verification)."""

    def __init__(self, session: SessionStore) -> None:
        self.session = session


def _session_user(store: SessionStore) -> User | None:
    """The session's user as a cookie request would see it (the identity snapshot, read
    with the session; Postgres on a miss), checking the session's auth hash."""
    user = identity.get_user(cast(HttpRequest, _SessionOnly(store)))
    return user if isinstance(user, User) and user.is_active else None

"""Server-side session lifetimes: an idle timeout and an absolute maximum age."""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from apps.core.activity import counts_as_activity

from . import identity, last_seen, services

logger = logging.getLogger(__name__)

AUTHENTICATED_AT = "_tollgate_auth_at"
LAST_SEEN = "_tollgate_seen"  # the idle clock, in the session itself


def idle_resolution() -> int:
    """How stale the session's idle clock may get before a request rewrites the session.

    A session write costs a Redis SET, a Postgres write, a fence and every near-cache
    copy of the session, so it happens a 24th of the idle timeout (2 h of the default
    2 days), never more than once a minute. A session so ends after between
    SESSION_IDLE_TIMEOUT - resolution and SESSION_IDLE_TIMEOUT idle: never later.
    The sessions list's "last seen" has its own, cheaper, minute (last_seen.py).
    """
    return max(60, settings.SESSION_IDLE_TIMEOUT // 24)


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    """AuthenticationMiddleware whose `request.user` comes from the identity snapshot.

    Still lazy: a page that never looks at the user pays nothing.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # keeps Django's checks and `request.auser`
        request.user = SimpleLazyObject(lambda: identity.get_user(request))  # type: ignore[assignment]


class SessionTimeoutMiddleware:
    """Ends a signed-in session that was idle too long or is older than SESSION_MAX_AGE.

    Cookie expiry alone cannot be trusted (a client may keep a cookie forever), so both
    limits are checked against timestamps kept in the server-side session. Every request
    is checked; only activity (apps.core.activity: not HEAD, not a view marked
    `not_activity` such as `/api/session`) moves the idle clock and "last seen", so
    polling cannot keep an abandoned session alive.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        # No cookie, no work: anonymous visitors pay nothing here.
        if session.session_key is not None and SESSION_KEY in session:
            self._enforce(request, now=int(time.time()))
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        session = request.session
        if session.session_key is None or SESSION_KEY not in session:
            return
        if not counts_as_activity(request, view):
            return
        now = int(time.time())
        last_seen.record(session.session_key or "", now=now)
        if now - session.get(LAST_SEEN, now) >= idle_resolution():
            request.session[LAST_SEEN] = now

    def _enforce(self, request: HttpRequest, *, now: int) -> None:
        session = request.session
        authenticated_at = session.setdefault(AUTHENTICATED_AT, now)
        last_seen = session.get(LAST_SEEN, now)
        if (
            now - authenticated_at > settings.SESSION_COOKIE_AGE
            or now - last_seen > settings.SESSION_IDLE_TIMEOUT
        ):
            expired_key = session.session_key or ""
            session.flush()
            with _best_effort():
                services.session_forget(session_key=expired_key)
            request.user = AnonymousUser()
            return
        if LAST_SEEN not in session:  # a session from before the clocks: start them now
            session[LAST_SEEN] = now


@contextmanager
def _best_effort() -> Iterator[None]:
    """Bookkeeping for the sessions list must not turn a Postgres outage into a 500:
    the view then meets the outage itself and answers the friendly 503."""
    try:
        yield
    except DatabaseError:
        logger.warning("Could not update the sessions list (database unavailable).")

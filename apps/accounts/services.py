"""Writes on users and their sessions. Views, admin, receivers and commands call these."""

import logging
import secrets

from allauth.usersessions.models import UserSession
from django.http import HttpRequest
from django.utils import timezone
from redis.exceptions import RedisError

from apps.core import user_cache
from apps.core.redis_outage import redis_outage

from .models import User

logger = logging.getLogger(__name__)


def sessions_end_all(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session of `user` on the server (except `keep_session_key`).

    Each session is deleted from Redis and Postgres, so its cookie is anonymous on the
    very next request, on any device. Returns how many sessions were ended.
    """
    sessions = UserSession.objects.filter(user_id=user.pk)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    ended = 0
    for session in sessions:
        session.end()
        ended += 1
    return ended


def identity_invalidate(*, user_id: int) -> None:
    """Drop the user's cached identity snapshot (and Access) after their row changed."""
    try:
        user_cache.invalidate([user_id])
    except RedisError as exc:
        redis_outage.failed(exc)
        logger.error("Could not invalidate the cached identity of user %s", user_id)


def session_end(*, user: User, user_session_id: int) -> str | None:
    """End one of `user`'s own sessions; returns its session key, or None if not found."""
    session = UserSession.objects.filter(pk=user_session_id, user_id=user.pk).first()
    if session is None:
        return None
    session_key: str = session.session_key
    session.end()
    return session_key


def session_rekey_for_user(*, request: HttpRequest) -> None:
    """Rotate the signed-in session's key to one that names its user; keep its list row."""
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key:
        UserSession.objects.filter(session_key=old_key).update(
            session_key=request.session.session_key
        )


def session_touch(*, session_key: str) -> None:
    """Record that a session was just used (shown as "last seen" in the sessions list)."""
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def session_forget(*, session_key: str) -> None:
    """Drop the sessions-list row of a session that already ended (e.g. expired)."""
    UserSession.objects.filter(session_key=session_key).delete()


def demo_admin_ensure(*, email: str, password: str | None) -> tuple[User, str | None]:
    """Make sure a local superuser exists.

    Returns the user and the password to show: the given one (always (re)set), a
    generated one for a new account, or None when an existing admin keeps theirs.
    """
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        password = password or secrets.token_urlsafe(12)
        user = User(email=email)
    elif password is None:
        return user, None
    user.set_password(password)
    user.is_staff = user.is_superuser = user.is_active = True
    user.save()
    return user, password

"""Signal receivers for accounts, connected in AccountsConfig.ready()."""

import logging
import time
from typing import Any

from allauth.account.signals import password_changed, password_reset
from django.contrib.auth.signals import user_logged_in
from django.core.signals import request_finished
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest

from . import last_seen, services
from .middleware import AUTHENTICATED_AT, LAST_SEEN
from .models import User

logger = logging.getLogger(__name__)

# Saves that touch only these fields change nothing the cached identity or Access
# hold (Django's login saves last_login), so they keep the cache.
UNCACHED_FIELDS = frozenset({"last_login"})


def stamp_session_on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Start the new session's clocks, and give it a key that names its user.

    Django rotated the key before it knew the user; rotating once more yields a key
    with the user's id (session_store.py), which lets one MGET serve the hot path.
    """
    now = int(time.time())
    request.session[AUTHENTICATED_AT] = now
    request.session[LAST_SEEN] = now
    services.session_rekey_for_user(request=request)


def end_other_sessions_on_password_change(
    sender: Any, request: HttpRequest, user: User, **kwargs: Any
) -> None:
    """A new password signs out every other device, at once and on the server."""
    _end_sessions(user, keep_session_key=request.session.session_key)


def end_sessions_of_deactivated_user(sender: Any, instance: User, **kwargs: Any) -> None:
    """After the deactivation commits: before it, a concurrent request still sees the
    session rows and could put a copy back into Redis."""
    if not instance.is_active:
        transaction.on_commit(lambda: _end_sessions(instance))


def _end_sessions(user: User, *, keep_session_key: str | None = None) -> None:
    try:
        services.sessions_end_all(user=user, keep_session_key=keep_session_key)
    except services.SignOutNotConfirmedError:
        # Owed durably; the changed user row (password hash, is_active) is refused
        # by every cached snapshot once that is paid, and by Postgres until then.
        logger.warning("Sessions of user %s ended; the cache invalidation is owed.", user.pk)


def forget_cached_identity(
    sender: Any, instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    """Any change to the user row (or its deletion) drops the identity snapshot and Access."""
    if instance.pk is None:
        return
    if update_fields is not None and frozenset(update_fields) <= UNCACHED_FIELDS:
        return
    services.identity_invalidate(user_id=instance.pk)


def flush_last_seen(sender: Any, **kwargs: Any) -> None:
    """After a response has gone: write finished minutes of "last seen" (once a minute)."""
    last_seen.flush_due()


def connect() -> None:
    request_finished.connect(flush_last_seen, dispatch_uid="accounts.last_seen")
    user_logged_in.connect(stamp_session_on_login, dispatch_uid="accounts.stamp_session")
    password_changed.connect(end_other_sessions_on_password_change, dispatch_uid="accounts.pw1")
    password_reset.connect(end_other_sessions_on_password_change, dispatch_uid="accounts.pw2")
    post_save.connect(
        end_sessions_of_deactivated_user, sender=User, dispatch_uid="accounts.deactivated"
    )
    post_save.connect(forget_cached_identity, sender=User, dispatch_uid="accounts.forget1")
    post_delete.connect(forget_cached_identity, sender=User, dispatch_uid="accounts.forget2")

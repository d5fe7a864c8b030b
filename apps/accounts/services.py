"""Writes on users and their sessions. Views, admin, receivers and commands call these."""

import logging
import secrets
from dataclasses import dataclass
from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from redis.exceptions import RedisError

from apps.core import state
from apps.core.errors import ApplicationError

from .models import User
from .session_store import user_id_of

logger = logging.getLogger(__name__)


class SignOutNotConfirmedError(ApplicationError):
    """The sessions are gone from Postgres, but Redis did not take the invalidation yet.

    It is owed durably and paid as soon as Redis answers (apps/core/state/), so
    the sign-out completes by itself; trying again pays it now.
    """


def sessions_end_all(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session of `user` on the server (except `keep_session_key`).

    Each session's Postgres row is deleted and its generation moves, so its cookie is
    anonymous on the very next request, on any device, whatever became of its copy in
    Redis. Returns how many sessions were ended; raises
    SignOutNotConfirmedError when Redis could not confirm it yet.
    """
    with transaction.atomic():
        sessions = UserSession.objects.filter(user_id=user.pk)
        if keep_session_key:
            sessions = sessions.exclude(session_key=keep_session_key)
        ended = list(sessions.select_for_update())
        usersessions_adapter().end_sessions(ended)
    _confirm_ended(user_id=user.pk)
    return len(ended)


def session_end(*, user: User, user_session_id: int) -> str | None:
    """End one of `user`'s own sessions; returns its session key, or None if not found.

    Raises SignOutNotConfirmedError as `sessions_end_all` does.
    """
    with transaction.atomic():
        session = (
            UserSession.objects.filter(pk=user_session_id, user_id=user.pk)
            .select_for_update()
            .first()
        )
        if session is None:
            return None
        session_key: str = session.session_key
        usersessions_adapter().end_sessions([session])
    _confirm_ended(user_id=user.pk)
    return session_key


def session_end_by_key(*, session_key: str) -> bool:
    """End the session with this key, whoever's it is (another service revoking it,
    apps/services), as signing out a device does; True if there was one to end.

    Raises SignOutNotConfirmedError as `sessions_end_all` does.
    """
    user_id = user_id_of(session_key)
    with transaction.atomic():
        listed = list(UserSession.objects.filter(session_key=session_key).select_for_update())
        if listed:
            user_id = listed[0].user_id
            usersessions_adapter().end_sessions(listed)
        else:  # a session the sessions list never knew: end it the way the list would
            store = import_module(settings.SESSION_ENGINE).SessionStore()
            if not store.exists(session_key):
                return False
            store.delete(session_key)
    if user_id is not None:
        _confirm_ended(user_id=user_id)
    return True


def _confirm_ended(*, user_id: int) -> None:
    """Pay what an ended session still owes Redis, or say that it is not confirmed."""
    try:
        state.owed_pay(user_id=user_id)
    except RedisError as exc:
        raise SignOutNotConfirmedError(
            "Signed out here, but not confirmed everywhere yet: our session store is not "
            "answering. The sign-out completes by itself as soon as it answers; you can "
            "also try again in a moment."
        ) from exc


def identity_invalidate(*, user_id: int) -> None:
    """Drop the user's cached identity snapshot (and Access) once their row change commits.

    Owed durably in the same transaction: a Redis failure delays it, never loses it.
    """
    state.invalidate_after_commit([state.user(user_id)], raise_errors=False)


def session_rekey_for_user(*, request: HttpRequest) -> None:
    """Rotate the signed-in session's key to one that names its user; keep its list row."""
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key:
        UserSession.objects.filter(session_key=old_key).update(
            session_key=request.session.session_key
        )


def session_forget(*, session_key: str) -> None:
    """Drop the sessions-list row of a session that already ended (e.g. expired)."""
    UserSession.objects.filter(session_key=session_key).delete()


def email_verified_ensure(*, user: User) -> bool:
    """Make the user's email their verified, primary allauth address; True if that changed.

    With mandatory verification, allauth (and so the admin login, which goes through it)
    refuses a password sign-in until this is so.
    """
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        address = EmailAddress.objects.create(
            user=user, email=user.email, verified=True, primary=False
        )
    elif address.verified and address.primary:
        return False
    address.verified = True
    address.save(update_fields=["verified"])
    address.set_as_primary()
    return True


@dataclass(frozen=True)
class AdminEnsured:
    """What `admin_ensure` did: created the account, or changed these things on it."""

    user: User
    created: bool
    changes: tuple[str, ...] = ()


@transaction.atomic
def admin_ensure(*, email: str, password: str | None) -> AdminEnsured:
    """Make `email` a superuser who can sign in to the admin now, with no email sent.

    A new account gets `password` (checked by the password validators) and a verified
    email. An existing account keeps its password; it is made an active superuser with a
    verified email if it was not one. Running it again changes nothing.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError(f"{email!r} is not an email address.") from exc
    user = User.objects.filter(email=email).first()
    if user is None:
        if not password:
            raise ApplicationError("A new admin needs a password.")
        user = User(email=email, is_staff=True, is_superuser=True, is_active=True)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        email_verified_ensure(user=user)
        return AdminEnsured(user=user, created=True)
    changes = [
        label
        for field, label in (
            ("is_active", "activated it"),
            ("is_staff", "gave it admin access"),
            ("is_superuser", "made it a superuser"),
        )
        if not getattr(user, field)
    ]
    if changes:
        user.is_active = user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_active", "is_staff", "is_superuser"])
    if email_verified_ensure(user=user):
        changes.append("verified its email")
    return AdminEnsured(user=user, created=False, changes=tuple(changes))


def demo_admin_ensure(*, email: str, password: str | None) -> tuple[User, str | None]:
    """The local demo superuser, verified; see `_demo_user_ensure` for the password."""
    return _demo_user_ensure(email=email, password=password, admin=True)


def demo_member_ensure(*, email: str, password: str | None) -> tuple[User, str | None]:
    """The local demo member, verified; see `_demo_user_ensure` for the password."""
    return _demo_user_ensure(email=email, password=password, admin=False)


@transaction.atomic
def _demo_user_ensure(*, email: str, password: str | None, admin: bool) -> tuple[User, str | None]:
    """Returns the user and the password to show: the given one (always (re)set), a
    generated one for a new account, or None when an existing account keeps theirs.

    Demo accounts are verified when they are created, so the printed credentials sign
    in at once (no verification email to find first).
    """
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        password = password or secrets.token_urlsafe(12)
        user = User(email=email)
    elif password is None:
        email_verified_ensure(user=user)
        return user, None
    user.set_password(password)
    user.is_staff = user.is_superuser = admin
    user.is_active = True
    user.save()
    email_verified_ensure(user=user)
    return user, password

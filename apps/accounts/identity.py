"""The identity snapshot: who a session's user is, from Redis, with no SQL.

Django's AuthenticationMiddleware loads the user row on every request (about 1 ms
of ORM work, most of a gated page's cost). Here a small snapshot of the user (id,
email, name, flags and the session auth hash Django verifies; never the password
hash) is cached in the user's slot of the access-state layer (apps/core/state/) and
read in the request's one snapshot, with the session and the Access. It is invalidated
whenever the user row changes (receivers.py).

Whenever the snapshot cannot vouch for the session (no snapshot, hash mismatch,
secret key rotation, Redis down), Django's own `get_user` decides, unchanged.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.db.models import DEFERRED
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from apps.core import state

from .models import User

SLOT = "user"
# Loaded from the snapshot; every other field is deferred and loads from Postgres
# only if something reads it (a save() then writes only these fields).
FIELDS = ("id", "email", "name", "is_active", "is_staff", "is_superuser")


def snapshot_of(user: User) -> dict[str, Any]:
    payload = {field: getattr(user, field) for field in FIELDS}
    payload["auth_hash"] = user.get_session_auth_hash()
    return payload


@cache
def _field_layout() -> tuple[list[str], list[str | None]]:
    """Every concrete field's name, and for each the snapshot key or None (deferred)."""
    names = [f.attname for f in User._meta.concrete_fields]
    return names, [name if name in FIELDS else None for name in names]


def user_from_snapshot(payload: dict[str, Any]) -> User:
    names, layout = _field_layout()
    values = [DEFERRED if key is None else payload[key] for key in layout]
    return User.from_db("default", names, values)


def _session_identity(request: HttpRequest) -> tuple[int, str, str] | None:
    session = request.session
    try:
        user_id = int(session[auth.SESSION_KEY])
        backend = session[auth.BACKEND_SESSION_KEY]
    except (KeyError, ValueError):
        return None
    return user_id, backend, session.get(auth.HASH_SESSION_KEY, "")


def get_user(request: HttpRequest) -> User | AnonymousUser:
    """Django's `get_user`, answered from the snapshot when it can vouch for the session."""
    identity = _session_identity(request)
    if identity is None:
        return AnonymousUser()
    user_id, backend, session_hash = identity
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    snapshot = state.for_request(request, user_id)
    cached = snapshot.get(SLOT)
    if (
        cached is not None
        and session_hash
        and constant_time_compare(session_hash, cached["auth_hash"])
    ):
        if not cached["is_active"]:
            return AnonymousUser()  # as ModelBackend.get_user does for inactive users
        user = user_from_snapshot(cached)
    else:
        loaded = auth.get_user(request)  # Django verifies (and rotates) the session hash
        if not isinstance(loaded, User):
            return loaded
        user = loaded
        snapshot.put(SLOT, snapshot_of(user), ttl=state.VALUE_TTL_CEILING)
    user.backend = backend  # type: ignore[attr-defined]  # as django.contrib.auth.login sets it
    return user


def user_for_session(data: Mapping[str, Any], *, snapshot: state.Snapshot) -> User | None:
    """The active user a session's `data` signs in, if the session still vouches for them
    (the same checks as `get_user`); None otherwise. Read-only: unlike Django's
    `get_user` it never rotates or flushes the session, since whoever asks (another
    service, apps/services) is not the session's browser."""
    try:
        user_id = int(data[auth.SESSION_KEY])
        backend = data[auth.BACKEND_SESSION_KEY]
    except (KeyError, TypeError, ValueError):
        return None
    session_hash = data.get(auth.HASH_SESSION_KEY) or ""
    if user_id != snapshot.user_id or backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if not session_hash:
        return None
    cached = snapshot.get(SLOT)
    if cached is not None and constant_time_compare(session_hash, cached["auth_hash"]):
        return user_from_snapshot(cached) if cached["is_active"] else None
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return None
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, value) for value in hashes):
        return None  # the password changed since: the session no longer signs anyone in
    snapshot.put(SLOT, snapshot_of(user), ttl=state.VALUE_TTL_CEILING)
    return user

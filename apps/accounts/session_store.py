"""Sessions: Django's `cached_db` store, with keys that name their user.

A signed-in session's key starts with its user's id (`<id>-<random>`). Loading such a
session reads the access-state snapshot (apps/core/state/snapshot.py): in one MGET the
session's copy, the user's generation, identity snapshot and Access, so a gated page
costs one round trip. The id in the key is a hint, never trusted: apps/accounts/identity.py
uses the snapshot only when the session's own data names the same user. At least 32
random characters follow the id, as in Django's own keys.

Such a session is a subject of its own (apps/core/state/subjects.py): its copy in Redis
is read only under the generation of its user and of itself, both fetched with it.
Ending a session deletes its Postgres row and moves the session's generation (owed
durably), so a copy whose DEL was lost, failed, or raced a concurrent request never
outlives the Postgres truth: the next read misses, goes to Postgres, and finds nothing.
Ending one device leaves the other devices' cached identity and Access in place.

Anonymous sessions (keys that name nobody) are Django's `cached_db`, unchanged.
"""

import json
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import transaction
from django.utils.crypto import get_random_string
from django_redis.serializers.base import BaseSerializer

from apps.core import state

from . import signals

KEY_LENGTH = 40  # the database column's size
RANDOM_LENGTH = 32


class SessionSerializer(BaseSerializer):
    """Sessions in Redis as plain JSON, the format Django keeps them in Postgres.

    django-redis pickles by default, and unpickling is code execution for whoever can
    write to Redis. A value that is not JSON fails here as it would in Postgres.
    """

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, value: bytes) -> Any:
        return json.loads(value)


def user_id_of(session_key: str | None) -> int | None:
    prefix, dash, _ = (session_key or "").partition("-")
    return int(prefix) if dash and prefix.isdigit() else None


class SessionStore(CachedDBStore):
    snapshot: state.Snapshot | None = None  # read with the session (user-named keys only)

    def _get_new_session_key(self) -> str:
        user_id = getattr(self, "_session_cache", {}).get(SESSION_KEY)
        prefix = f"{user_id}-" if user_id else ""
        if len(prefix) + RANDOM_LENGTH > KEY_LENGTH:
            prefix = ""
        while True:
            key = prefix + get_random_string(
                KEY_LENGTH - len(prefix) if prefix else RANDOM_LENGTH, VALID_KEY_CHARS
            )
            if not self.exists(key):
                return key

    def exists(self, session_key: str) -> bool:
        if user_id_of(session_key) is None:
            return bool(super().exists(session_key))
        return bool(DBStore.exists(self, session_key))  # Postgres has every session

    def load(self) -> dict[str, Any]:
        user_id = user_id_of(self.session_key)
        if user_id is None or self.session_key is None:
            return super().load()  # anonymous sessions: Django's cached_db as it is
        self.snapshot = state.read(user_id, session_key=self.session_key)
        if self.snapshot.session_data is not None:
            return self.snapshot.session_data
        row = self._get_session_from_db()  # type: ignore[attr-defined]  # not in the stubs
        if row is None:
            return {}
        data: dict[str, Any] = self.decode(row.session_data)
        # Postgres has the durable copy; Redis gets one back under the generations read.
        self.snapshot.put_session(data, ttl=self.get_expiry_age(expiry=row.expire_date))
        return data

    def save(self, must_create: bool = False) -> None:
        user_id = user_id_of(self.session_key)
        if user_id is None or self.session_key is None:
            super().save(must_create)
            return
        DBStore.save(self, must_create)  # the durable copy first, as cached_db does
        snapshot = self.snapshot
        if snapshot is None or snapshot.session != state.session(user_id, self.session_key):
            snapshot = state.read(user_id, session_key=self.session_key)
        # Under the generations read before this save; if either moved since, this copy
        # is refused and the next read goes to Postgres. Fenced, so the next request (a
        # signed-out device's, say) sees the change on any worker.
        snapshot.put_session(dict(self.items()), ttl=self.get_expiry_age(), fence=True)

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        user_id = user_id_of(session_key)
        if user_id is None or session_key is None:
            super().delete(session_key)
            return
        with transaction.atomic():  # the row and the news of its end commit together
            deleted, _ = self.model.objects.filter(session_key=session_key).delete()
            if deleted:  # a key that had ended already is not news
                signals.session_ended.send(
                    sender=SessionStore,
                    user_id=user_id,
                    session_id=signals.session_digest(session_key),
                    rotated=self.session_key is not None and session_key != self.session_key,
                )
        ended = state.session(user_id, session_key)
        state.discard([ended])  # the copy goes now, as cached_db's DEL
        # What makes the end stick whatever becomes of any copy: the session's
        # generation moves after commit, so no copy written before it is read again.
        state.invalidate_after_commit([ended], raise_errors=False)

"""Sessions: Django's `cached_db` store, with keys that name their user.

A signed-in session's key starts with its user's id (`<id>-<random>`). Loading such a
session fetches, in the same Redis MGET, the user's cache generation, identity
snapshot and Access (apps/core/user_cache.py), so a gated page costs one round trip.
The id in the key is a hint, never trusted: apps/accounts/identity.py uses the
prefetch only when the session's own data names the same user. At least 32 random
characters follow the id, as in Django's own keys.

Such a session's copy in Redis carries the user's generation (`{"g": ..., "s": data}`)
and is read only under the generation fetched with it. Ending a session deletes its
Postgres row and bumps the generation (owed durably, apps/core/user_cache.py), so a
copy whose DEL was lost, failed, or raced a concurrent request never outlives the
Postgres truth: the next read misses, goes to Postgres, and finds nothing.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils.crypto import get_random_string
from django_redis.serializers.base import BaseSerializer
from redis.exceptions import RedisError

from apps.core import user_cache
from apps.core.near_cache import near_cache
from apps.core.redis_outage import redis_outage

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


@dataclass(frozen=True)
class Prefetch:
    """What the session's MGET brought back for its user."""

    user_id: int
    generation: int
    slots: dict[str, Any]


def user_id_of(session_key: str | None) -> int | None:
    prefix, dash, _ = (session_key or "").partition("-")
    return int(prefix) if dash and prefix.isdigit() else None


class SessionStore(CachedDBStore):
    prefetch: Prefetch | None = None

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

    def load(self) -> dict[str, Any]:
        user_id = user_id_of(self.session_key)
        if user_id is None or not _same_redis():
            return super().load()  # anonymous sessions: Django's cached_db as it is
        if not redis_outage.should_try():
            return self._load_from_db(generation=None)
        try:
            generation, slots, (raw,) = user_cache.read_with(
                user_id, user_cache.SLOTS, also=[self._redis_key(self.session_key)]
            )
        except RedisError as exc:
            redis_outage.failed(exc)
            return self._load_from_db(generation=None)
        self.prefetch = Prefetch(user_id=user_id, generation=generation, slots=slots)
        data = self._accept(raw, generation)
        return data if data is not None else self._load_from_db(generation=generation)

    def _accept(self, raw: bytes | None, generation: int) -> dict[str, Any] | None:
        """The session data if Redis holds it under `generation`, else None."""
        if raw is None:
            return None
        try:
            copy = self._cache.client.decode(raw)  # type: ignore[attr-defined]
        except ValueError:  # e.g. written by an older serializer: Postgres has it too
            return None
        if not isinstance(copy, dict) or copy.get("g") != generation:
            return None  # written before the user's last revocation (or in another format)
        data: dict[str, Any] = copy["s"]
        return data

    def _load_from_db(self, *, generation: int | None) -> dict[str, Any]:
        """Postgres has the durable copy; put it back into Redis under `generation`."""
        row = self._get_session_from_db()  # type: ignore[attr-defined]
        if row is None:
            return {}
        data: dict[str, Any] = self.decode(row.session_data)
        if generation is not None:
            self._write_copy(
                data, generation=generation, timeout=self.get_expiry_age(expiry=row.expire_date)
            )
            self._forget_copy(self.session_key)
        return data

    def save(self, must_create: bool = False) -> None:
        user_id = user_id_of(self.session_key)
        if user_id is None or not _same_redis():
            super().save(must_create)
        else:
            DBStore.save(self, must_create)  # the durable copy first, as cached_db does
            data: dict[str, Any] = self._session  # type: ignore[attr-defined]
            generation = self._generation(user_id)
            self._write_copy(data, generation=generation, timeout=self.get_expiry_age())
        self._forget_copy(self.session_key)

    def _generation(self, user_id: int) -> int | None:
        """The generation to write this session's copy under (None: write no copy)."""
        if self.prefetch is not None and self.prefetch.user_id == user_id:
            return self.prefetch.generation  # older is safe: a newer one only rejects it
        try:
            return user_cache.generation(user_id)
        except RedisError as exc:
            redis_outage.failed(exc)
            return None

    def _write_copy(self, data: dict[str, Any], *, generation: int | None, timeout: int) -> None:
        if generation is None or self.session_key is None:
            return
        copy = {"g": generation, "s": data}
        self._cache.set(self.cache_key_prefix + self.session_key, copy, timeout)  # type: ignore[attr-defined]

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        super().delete(session_key)  # Postgres, then a DEL whose failure is swallowed
        user_id = user_id_of(session_key)
        if user_id is not None:
            # What makes the end stick whatever became of that DEL: the user's
            # generation moves, so no copy written before it is read again.
            user_cache.invalidate_after_commit([user_id], raise_errors=False)
        self._forget_copy(session_key)

    def _redis_key(self, session_key: str | None) -> str:
        return str(self._cache.client.make_key(self.cache_key_prefix + (session_key or "")))  # type: ignore[attr-defined]

    def _forget_copy(self, session_key: str | None) -> None:
        """This process just wrote the session to Redis: drop its near-cache copy now,
        and wait until every other thread's copy is invalid too, so the next request
        (a signed-out device's, say) sees the change on any worker
        (apps/core/near_cache.py)."""
        if user_id_of(session_key) is None:
            return  # only sessions that name their user are read through the near cache
        near_cache().evict([self._redis_key(session_key)])
        if not redis_outage.should_try():
            return  # Redis just failed: the write was skipped, and so is its fence
        try:
            near_cache().fence()
        except RedisError as exc:  # the write itself was ignored too; Postgres has it
            redis_outage.failed(exc)


def _same_redis() -> bool:
    """One MGET needs the sessions and the user cache on the same Redis database."""
    caches = settings.CACHES
    alias = settings.SESSION_CACHE_ALIAS
    return bool(caches[alias]["LOCATION"] == caches["default"]["LOCATION"])

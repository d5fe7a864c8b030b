"""The per-request snapshot: one MGET of a user's generation, every registered slot and
(for a session that names its user) the session's generation and copy.

The session store reads it when it loads the session; identity and the Access resolver
read the same object (`for_request`), so a gated page makes one Redis round trip, or
none on a near-cache hit (apps/core/near_cache.py).

The rule that makes the cache never stale lives here: a value is accepted only if it
was written under the generation fetched with it in the same MGET, and a writer writes
under the generation it read before computing (so a value computed from rows that
changed meanwhile is never accepted). A session's copy is accepted only under both its
user's and its own generation. When Redis fails the snapshot is unread: every value is
a miss, nothing is written, and callers answer from Postgres.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson
from django.http import HttpRequest

from ..near_cache import near_cache
from . import invalidation
from .guard import guarded
from .slots import VALUE_TTL_CEILING, registered
from .subjects import SESSION_DATA, Subject, session, user

Payload = dict[str, Any]
_REQUEST_ATTRIBUTE = "_tollgate_state_snapshot"


@dataclass
class Snapshot:
    user: Subject
    generation: int | None  # None: Redis was not read; every value is a miss
    slots: dict[str, Payload | None] = field(default_factory=dict)
    session: Subject | None = None
    session_generation: int | None = None
    session_data: dict[str, Any] | None = None
    epoch: int = field(default_factory=invalidation.epoch)

    @property
    def user_id(self) -> int:
        return int(self.user.id)

    def get(self, slot: str) -> Payload | None:
        """The slot's payload, or None (a miss: compute it from Postgres and `put` it).

        Also a miss once this thread has invalidated anything since the read, so a
        request that revokes sees the revocation for the rest of itself."""
        if self.epoch != invalidation.epoch():
            return None
        return self.slots.get(slot)

    def put(self, slot: str, payload: Payload, *, ttl: int) -> None:
        """Cache a value computed after this snapshot was read, under its generation."""
        if self.generation is not None:
            _write(self.user.value_key(slot), {**payload, "g": self.generation}, ttl=ttl)

    def put_session(self, data: dict[str, Any], *, ttl: int, fence: bool = False) -> None:
        """Cache the session's data (Postgres has the durable copy) under both generations.
        `fence`: return only once every other thread's copy is invalid too."""
        if self.session is None or self.generation is None or self.session_generation is None:
            return
        body = {"g": self.generation, "sg": self.session_generation, "s": data}
        _write(self.session.value_key(SESSION_DATA), body, ttl=ttl, fence=fence)


def read(user_id: int, *, session_key: str | None = None) -> Snapshot:
    """The user's (and the session's) state in one MGET; never raises for Redis."""
    subject = user(user_id)
    session_subject = session(user_id, session_key) if session_key else None
    return guarded(
        lambda: _read(subject, session_subject),
        fallback=lambda: Snapshot(user=subject, generation=None, session=session_subject),
    )


def for_request(request: HttpRequest, user_id: int) -> Snapshot:
    """The snapshot this request already read for `user_id` (with its session, or by an
    earlier caller), else one MGET now, shared with the request's later callers."""
    for snapshot in (
        getattr(request.session, "snapshot", None),
        getattr(request, _REQUEST_ATTRIBUTE, None),
    ):
        if isinstance(snapshot, Snapshot) and snapshot.user_id == user_id:
            return snapshot
    snapshot = read(user_id)
    setattr(request, _REQUEST_ATTRIBUTE, snapshot)
    return snapshot


def _read(subject: Subject, session_subject: Subject | None) -> Snapshot:
    names = [slot.name for slot in registered()]
    keys = list(subject.read_keys)
    if session_subject is not None:
        keys += session_subject.read_keys
    raw = near_cache().mget(keys)
    if invalidation.owed_check_due() and invalidation.owed_paid():
        raw = near_cache().mget(keys)  # what was read may predate an owed invalidation
    generation = int(raw[0] or 0)
    snapshot = Snapshot(
        user=subject,
        generation=generation,
        slots={
            name: _accept(value, generation)
            for name, value in zip(names, raw[1 : 1 + len(names)], strict=True)
        },
    )
    if session_subject is not None:
        session_generation = int(raw[-2] or 0)
        copy = _accept(raw[-1], generation)
        snapshot.session = session_subject
        snapshot.session_generation = session_generation
        if copy is not None and copy.get("sg") == session_generation:
            snapshot.session_data = copy["s"]
    return snapshot


def read_value(subject: Subject) -> tuple[int, Payload | None]:
    """A subject with one value of its own (a service's credential): its generation and
    the value if it was written under it. One MGET, or none on a near-cache hit. Raises
    for Redis (wrap it in `guarded`)."""
    keys = list(subject.read_keys)  # its generation, then its one value
    raw = near_cache().mget(keys)
    if invalidation.owed_check_due() and invalidation.owed_paid():
        raw = near_cache().mget(keys)  # what was read may predate an owed invalidation
    generation = int(raw[0] or 0)
    return generation, _accept(raw[1], generation)


def read_generation(subject: Subject) -> int:
    """A subject's generation alone (the signing keys': what a process's own copy of
    them was loaded under). One MGET, or none on a near-cache hit. Raises for Redis."""
    keys = list(subject.read_keys[:1])  # cached on the subject: no key string built
    raw = near_cache().mget(keys)
    if invalidation.owed_check_due() and invalidation.owed_paid():
        raw = near_cache().mget(keys)  # what was read may predate an owed invalidation
    return int(raw[0] or 0)


def write_value(subject: Subject, payload: Payload, *, generation: int, ttl: int) -> None:
    """Cache a one-value subject's value, computed after `read_value` returned
    `generation`, under that generation; never raises for Redis."""
    _write(subject.value_keys()[0], {**payload, "g": generation}, ttl=ttl)


def _accept(raw: bytes | None, generation: int) -> Payload | None:
    """The payload if it was written under `generation`, else None."""
    if raw is None:
        return None
    try:
        payload = orjson.loads(raw)  # every value of a hit is decoded: 4x the stdlib's speed
    except ValueError:  # not ours (or an older format): a miss
        return None
    return payload if isinstance(payload, dict) and payload.get("g") == generation else None


def _write(key: str, body: Payload, *, ttl: int, fence: bool = False) -> None:
    def attempt() -> None:
        # As compact as json.dumps(separators=(",", ":")); non-string keys become strings
        # as json makes them (a session may hold int keys).
        encoded = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        # This thread keeps what it wrote (read back in the same round trip), so its
        # next request is a hit; other threads' copies go when Redis's push lands, or
        # at once with `fence`. Values need no fence to be safe: a value is trusted only
        # under the generation read with it, and generations move only in `invalidate`.
        near_cache().set(key, encoded, ex=max(1, min(ttl, VALUE_TTL_CEILING)))
        if fence:
            near_cache().fence()

    guarded(attempt, fallback=lambda: None)

"""The access-state layer: everything Tollgate keeps per subject in Redis.

- subjects.py     who has state (a user, a session; later a team, a token) and its keys
- slots.py        the values apps cache per user, registered in AppConfig.ready
- snapshot.py     the one MGET per request and the accept-under-generation rule
                  (also for a subject with one value, read_value and write_value, or with
                  a generation alone, read_generation)
- invalidation.py moving generations, owed durably in Postgres
- guard.py        try Redis, else fall back to Postgres; never grant on error

The rest of the code asks through the names below. docs/architecture.md explains why
the values are never stale.
"""

from . import subjects
from .guard import guarded
from .invalidation import discard, invalidate, invalidate_after_commit, owed_pay
from .slots import VALUE_TTL_CEILING, Slot, register
from .snapshot import Snapshot, for_request, read, read_generation, read_value, write_value
from .subjects import Subject, session, user

__all__ = [
    "VALUE_TTL_CEILING",
    "Slot",
    "Snapshot",
    "Subject",
    "discard",
    "for_request",
    "guarded",
    "invalidate",
    "invalidate_after_commit",
    "owed_pay",
    "read",
    "read_generation",
    "read_value",
    "register",
    "session",
    "subjects",
    "user",
    "write_value",
]

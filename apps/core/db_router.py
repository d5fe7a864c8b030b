"""Reads a Postgres standby may answer, and the router that keeps everything else on the
primary (docs/architecture.md, "Reads and a Postgres standby").

With DATABASE_REPLICA_URL set, settings add a `replica` alias and this router. Nothing
goes to the standby by default: a query reads it only when its caller asked for it by
name (`standby_read`, or `.using(read_alias())`), and even then only while the request
has written nothing and is in no transaction, so a request never reads past its own
write. Access, sessions and webhooks never ask: a standby that lags must not decide
what a member may use.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"

logger = logging.getLogger("tollgate.db")
# A context variable rather than a thread-local, so that under ASGI each request (a task
# of its own) keeps its own; under WSGI each thread's context is its own anyway.
_wrote: ContextVar[bool] = ContextVar("tollgate_db_wrote", default=False)
T = TypeVar("T")


def read_alias() -> str:
    """The alias for a read that may be a little stale (e.g. the pricing page's catalog):
    the standby when one is configured, this request has not written since it
    started, and no transaction is open on the primary; otherwise the primary."""
    if REPLICA not in settings.DATABASES or _wrote.get():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


def standby_read(read: Callable[[str], T]) -> T:
    """`read(alias)` with `read_alias()`; when that is the standby and it fails (down, or
    a query canceled by a replication conflict), once more on the primary, so a standby
    outage costs the page nothing but a connection attempt."""
    alias = read_alias()
    if alias == DEFAULT_DB_ALIAS:
        return read(alias)
    try:
        return read(alias)
    except DatabaseError as error:
        logger.warning("The standby (DATABASE_REPLICA_URL) failed, reading the primary: %s", error)
        return read(DEFAULT_DB_ALIAS)


def request_reset(**kwargs: Any) -> None:
    """A new request has written nothing yet (connected to request_started/finished)."""
    _wrote.set(False)


class PrimaryUnlessChosenRouter:
    """Writes and unchosen reads go to the primary; the standby is never migrated.

    Every ORM write asks `db_for_write` first, which is how a request learns that it
    wrote (raw SQL through a cursor is not seen: don't follow it with `read_alias`).
    """

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return None  # Django's default: the primary, or the instance's own database

    def db_for_write(self, model: type, **hints: Any) -> str:
        _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the standby holds the primary's rows: the same database

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA

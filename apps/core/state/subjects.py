"""Subjects: the things whose change must revoke what was cached about them.

Each subject has a generation in Redis and a few values written under it. A user's
values are the slots apps register (apps/core/state/slots.py); a session's value is its
copy of the session data. Every key of a user, and of each of their sessions, carries
the hash tag `{u:<id>}`, so the one MGET a request makes stays in one Redis Cluster
slot. A team or an API token is one more function here (docs/architecture.md, "How a
team and a token plug in"); a service's credentials and the token signing keys are.

`Subject.name` ("user:42", "session:42:<digest>") is what an OwedInvalidation row keeps.
Session keys appear in Redis key names only as a digest: whoever can list Redis keys
learns nothing that signs in.
"""

import hashlib
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any

from django.conf import settings

from .slots import registered

FORMAT = 1  # bump when a value's shape changes; old values then read as misses


@dataclass(frozen=True)
class Subject:
    kind: str
    id: str
    tag: str  # the Redis Cluster hash tag, shared with the request's other keys
    scope: str = ""  # what tells this subject's keys from its owner's under one tag

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.id}"

    def key(self, part: str) -> str:
        if self.scope:
            return f"{_prefix()}:{self.tag}:{self.scope}:{part}"
        return f"{_prefix()}:{self.tag}:{part}"

    @property
    def generation_key(self) -> str:
        return self.key("gen")

    def value_key(self, value: str) -> str:
        return self.key(f"{value}:v{FORMAT}")

    def value_keys(self) -> list[str]:
        """Every value written under this subject's generation (deleted when it moves)."""
        return list(self.read_keys[1:])

    @cached_property
    def read_keys(self) -> tuple[str, ...]:
        """What a snapshot reads of this subject: its generation, then its values
        (a user's slots in registration order, or a session's copy)."""
        if self.kind == "user":
            values = [self.value_key(slot.name) for slot in registered()]
        else:
            values = [self.value_key(SESSION_DATA)]
        return (self.generation_key, *values)


SESSION_DATA = "data"


@cache  # on the hot path: a settings lookup per key was a fifth of a near-cache hit
def _prefix() -> str:
    return str(settings.CACHES["default"].get("KEY_PREFIX", ""))


def reset(*, setting: str = "CACHES", **_: Any) -> None:
    """Connected to `setting_changed` (apps.py), so a test that changes CACHES is obeyed."""
    if setting == "CACHES":
        _prefix.cache_clear()
        user.cache_clear()
        session.cache_clear()
        signing_keys.cache_clear()


@lru_cache(maxsize=16_384)  # a hit builds no key strings; Subject is immutable
def user(user_id: int) -> Subject:
    return Subject(kind="user", id=str(user_id), tag=f"{{u:{user_id}}}")


@lru_cache(maxsize=16_384)  # a hit hashes nothing and builds no key strings
def session(user_id: int, session_key: str) -> Subject:
    """A signed-in session (its key names its user: apps/accounts/session_store.py)."""
    digest = hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()
    return _session(user_id, digest)


def _session(user_id: int, digest: str) -> Subject:
    return Subject(
        kind="session", id=f"{user_id}:{digest}", tag=f"{{u:{user_id}}}", scope=f"s:{digest}"
    )


def service(client_id: str) -> Subject:
    """Another service's credentials (apps/services), cached for token introspection."""
    return Subject(kind="service", id=client_id, tag=f"{{svc:{client_id}}}")


@cache  # read before every token verification: build its key strings once
def signing_keys() -> Subject:
    """The token signing keys (apps/accounts/tokens/keys.py): one generation, no value.
    Each process keeps its own copy of the key set and trusts it only under the
    generation it read before loading it; retiring a key moves it."""
    return Subject(kind="signing_keys", id="all", tag="{tokens}")


def parse(name: str) -> Subject:
    """The subject an OwedInvalidation row names."""
    kind, _, ident = name.partition(":")
    if kind == "user":
        return user(int(ident))
    if kind == "session":
        owner, _, digest = ident.partition(":")
        return _session(int(owner), digest)
    if kind == "service":
        return service(ident)
    if kind == "signing_keys":
        return signing_keys()
    raise ValueError(f"unknown subject {name!r}")


def names_owned_by(user_id: int) -> tuple[str, str]:
    """(the user's own name, the prefix every one of their sessions' names starts with)."""
    return f"user:{user_id}", f"session:{user_id}:"

"""Service credentials: issuing secrets, their digests, and verifying them per request.

A secret is 256 random bits (`secrets.token_urlsafe(32)`), so it is stored as a plain
SHA-256 digest. Slow password hashers exist for secrets people choose, which can be
guessed; nothing can guess 256 random bits, so slowness (or a key held elsewhere) would
protect nothing here, while it would put ~100 ms of CPU on every cold check of an
endpoint anyone can call. A fast digest also needs no cache of verified secrets: the
digest of the presented secret is compared with the stored one on every request.

What a request needs to know about its service (the digests, whether it is active) is
cached in Redis as a subject of the access-state layer (`service:<client_id>`), read
through the near cache, so a repeat introspection makes no SQL and no round trip. Every
change to a Service row moves that subject's generation after commit (receivers.py), so
a revoked or rotated credential is refused on the very next request, as a signed-out
session is.
"""

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import asdict, dataclass

from apps.core import state

from .models import Service

CLIENT_ID_PREFIX = "svc_"
SECRET_PREFIX = "tgs_"  # noqa: S105 - a prefix, so a leaked secret is recognisable
_CLIENT_ID = re.compile(r"^svc_[0-9a-f]{24}$")


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_client_id(value: str) -> bool:
    """Whether `value` could be a client id (anything else is refused before any I/O)."""
    return bool(_CLIENT_ID.match(value))


@dataclass(frozen=True)
class Credential:
    """What a request checks a presented secret against (a Service row, cacheable)."""

    service_id: int
    client_id: str
    name: str
    active: bool
    may_revoke: bool
    digest: str
    previous_digest: str
    previous_valid_until: float | None  # a Unix time

    @classmethod
    def of(cls, service: Service) -> "Credential":
        until = service.previous_secret_valid_until
        return cls(
            service_id=service.pk,
            client_id=service.client_id,
            name=service.name,
            active=service.is_active,
            may_revoke=service.may_revoke,
            digest=service.secret_digest,
            previous_digest=service.previous_secret_digest,
            previous_valid_until=until.timestamp() if until else None,
        )

    def accepts(self, secret: str, *, now: float) -> bool:
        """Whether `secret` is this service's current one, or its previous one inside the
        rotation's overlap. Constant-time in the digests."""
        if not self.active:
            return False
        presented = digest(secret)
        if hmac.compare_digest(presented, self.digest):
            return True
        return bool(
            self.previous_digest
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
            and hmac.compare_digest(presented, self.previous_digest)
        )


def authenticate(client_id: str, secret: str) -> Credential | None:
    """The service these credentials belong to, or None (unknown, revoked, wrong secret)."""
    if not is_client_id(client_id):
        return None
    credential = credential_for(client_id)
    if credential is None or not credential.accepts(secret, now=time.time()):
        return None
    return credential


def credential_for(client_id: str) -> Credential | None:
    """The service's credential: from Redis (near-cached) under its generation, else from
    Postgres, then cached under the generation read before the query."""
    subject = state.subjects.service(client_id)
    generation, payload = state.guarded(
        lambda: state.read_value(subject), fallback=lambda: (None, None)
    )
    if payload is not None:
        try:
            return Credential(**{k: v for k, v in payload.items() if k != "g"})
        except TypeError:
            pass  # another shape (an older release): a miss
    service = Service.objects.filter(client_id=client_id).first()
    if service is None:
        return None
    credential = Credential.of(service)
    if generation is not None:
        # Through the near cache, as every cached value is written: this thread keeps
        # a tracked copy, so its next check of this service makes no round trip.
        state.write_value(
            subject, asdict(credential), generation=generation, ttl=state.VALUE_TTL_CEILING
        )
    return credential

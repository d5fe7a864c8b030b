"""Signing keys: which one signs, which ones verify, and the JWKS that publishes them.

Keys live in Postgres (models.SigningKey); each process keeps a copy of the set for
`conf.KEYS_RELOAD_INTERVAL` and reloads early (at most every few seconds) when it meets
a `kid` it does not know, so a key another process just created is found at once. The
copy is trusted only under the generation of the access-state subject `signing_keys`
it was loaded under (read through the near cache before every use: no round trip on a
warm thread), so a key retired with `--revoke` is refused by every process on its next
request; while Redis is unreadable every use reloads from Postgres (slower, never wrong).

A key's life, from `manage.py tokens_rotate_key`:
1. created, published in the JWKS `conf.publish_ahead()` before it signs, so relying
   parties holding a cached JWKS, and our processes' copies, know it before a token does;
2. signs until its successor's `signs_from`;
3. stays published `conf.publish_after()` longer: the last access token it signed expires;
4. still verifies our own refresh tokens until the last of those expires, then is deleted.

`manage.py tokens_rotate_key --revoke <kid>` ends a compromised key's life at once
(`key_revoke`): deleted, so unpublished and verifying nothing, and replaced by a key
that signs now if it was the one signing.

The private half is encrypted with a key derived from SECRET_KEY (SECRET_KEY_FALLBACKS
still decrypt, so rotating SECRET_KEY does not strand the keys).
"""

import base64
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from jwt.algorithms import RSAAlgorithm

from apps.core import state

from . import conf
from .models import SigningKey

RSA_BITS = 2048
UNKNOWN_KID_RELOAD = 5.0  # seconds between reloads caused by a kid nobody here knows
_ENCRYPTION_PURPOSE = "tollgate.tokens.signing-key"


def _fernet() -> MultiFernet:
    def derive(secret: str) -> Fernet:
        digest = salted_hmac(_ENCRYPTION_PURPOSE, "", secret=secret, algorithm="sha256")
        return Fernet(base64.urlsafe_b64encode(digest.digest()))

    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([derive(secret) for secret in secrets])


def _thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638: the SHA-256 of the key's required JWK members, base64url."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def key_create(*, signs_from: datetime) -> SigningKey:
    """A new key pair, stored (private half encrypted); it signs from `signs_from`."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = SigningKey.objects.create(
        kid=_thumbprint(private_key.public_key()),
        algorithm=conf.ALGORITHM,
        public_pem=public_pem.decode(),
        private_encrypted=_fernet().encrypt(private_pem),
        signs_from=signs_from,
    )
    forget()
    return key


def key_rotate(*, immediately: bool = False) -> tuple[SigningKey, int]:
    """Create the next signing key and delete keys that verify nothing any more.

    The new key signs after `conf.publish_ahead()` (at once with `immediately`, e.g.
    when no relying party caches the JWKS). Returns the key and how many were deleted.
    """
    now = timezone.now()
    key = key_create(
        signs_from=now if immediately else now + timedelta(seconds=conf.publish_ahead())
    )
    horizon = now - timedelta(seconds=conf.refresh_lifetime() + conf.LEEWAY)
    successors = list(SigningKey.objects.order_by("signs_from", "id"))
    expired = [
        older.pk for older, newer in itertools.pairwise(successors) if newer.signs_from < horizon
    ]
    deleted, _ = SigningKey.objects.filter(pk__in=expired).delete()
    forget()
    return key, deleted


class KeyNotFoundError(LookupError):
    pass


@transaction.atomic
def key_revoke(kid: str) -> SigningKey | None:
    """Retire a compromised key now: it leaves the JWKS, and every token it signed (access
    and refresh) is refused by every process on its next request. If it was the key
    signing now, a new key signs from now on (returned; relying parties that cached the
    JWKS meet its kid before they refetch). Raises KeyNotFoundError for an unknown kid."""
    key = SigningKey.objects.select_for_update().filter(kid=kid).first()
    if key is None:
        raise KeyNotFoundError(kid)
    now = timezone.now()
    signing = SigningKey.objects.filter(signs_from__lte=now).order_by("signs_from", "id").last()
    was_signing = signing is not None and signing.pk == key.pk
    key.delete()
    fresh = key_create(signs_from=now) if was_signing else None
    # Every process's copy was loaded under the current generation: after commit it moves
    # (owed in this transaction if Redis fails then), and each copy is reloaded on use.
    state.invalidate_after_commit([state.subjects.signing_keys()], raise_errors=False)
    transaction.on_commit(forget)
    return fresh


@dataclass
class LoadedKey:
    kid: str
    signs_from: float
    until: float | None  # when its successor starts signing; None while it is the newest
    public_key: Any
    private_encrypted: bytes = field(repr=False)

    @cached_property
    def private_key(self) -> Any:
        try:
            pem = _fernet().decrypt(self.private_encrypted)
        except InvalidToken as exc:
            raise RuntimeError(
                f"Signing key {self.kid} cannot be decrypted: SECRET_KEY changed without "
                "the old one in SECRET_KEY_FALLBACKS. Run `manage.py tokens_rotate_key "
                "--immediately`."
            ) from exc
        return serialization.load_pem_private_key(pem, password=None)

    def jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        jwk.pop("key_ops", None)  # RFC 7517 §4.3: not together with `use`
        return {**jwk, "kid": self.kid, "use": "sig", "alg": conf.ALGORITHM}


@dataclass
class KeySet:
    keys: list[LoadedKey]
    generation: int | None = None  # of `signing_keys`, read before loading (None: unread)
    loaded_at: float = field(default_factory=time.monotonic)

    def signer(self, now: float) -> LoadedKey | None:
        signing = [key for key in self.keys if key.signs_from <= now]
        return signing[-1] if signing else None

    def published(self, now: float) -> list[LoadedKey]:
        """Keys that sign, will sign, or signed an access token that may be unexpired."""
        after = conf.publish_after()
        return [key for key in self.keys if key.until is None or key.until + after > now]

    def for_access(self, kid: str, now: float) -> LoadedKey | None:
        return next((key for key in self.published(now) if key.kid == kid), None)

    def for_refresh(self, kid: str) -> LoadedKey | None:
        return next((key for key in self.keys if key.kid == kid), None)


def _load(generation: int | None) -> KeySet:
    rows = list(SigningKey.objects.filter(algorithm=conf.ALGORITHM).order_by("signs_from", "id"))
    starts = [row.signs_from.timestamp() for row in rows]
    return KeySet(
        generation=generation,
        keys=[
            LoadedKey(
                kid=row.kid,
                signs_from=start,
                until=starts[index + 1] if index + 1 < len(rows) else None,
                public_key=serialization.load_pem_public_key(row.public_pem.encode()),
                private_encrypted=bytes(row.private_encrypted),
            )
            for index, (row, start) in enumerate(zip(rows, starts, strict=True))
        ],
    )


_lock = threading.Lock()
_current: KeySet | None = None
_last_unknown_reload = 0.0


def _generation() -> int | None:
    """The `signing_keys` generation now (near-cached), or None if Redis is unreadable."""
    subject = state.subjects.signing_keys()
    return state.guarded(lambda: state.read_generation(subject), fallback=lambda: None)


def keyset() -> KeySet:
    """This process's copy of the key set, if it was loaded under the current generation
    less than `conf.KEYS_RELOAD_INTERVAL` ago; else reloaded (under the generation read
    first, so a revocation committed meanwhile still moves it past this copy)."""
    global _current
    generation = _generation()
    current = _current
    if (
        current is None
        or generation is None
        or current.generation != generation
        or time.monotonic() - current.loaded_at > conf.KEYS_RELOAD_INTERVAL
    ):
        with _lock:
            current = _current = _load(generation)
    return current


def keyset_knowing(kid: str) -> KeySet:
    """The key set, reloaded first if it does not know `kid` and no such reload ran in
    the last few seconds (a stream of made-up kids costs one query per few seconds)."""
    global _current, _last_unknown_reload
    current = keyset()
    if current.for_refresh(kid) is not None:
        return current
    now = time.monotonic()
    if now - _last_unknown_reload < UNKNOWN_KID_RELOAD:
        return current
    with _lock:
        _last_unknown_reload = now
        current = _current = _load(current.generation)
    return current


def signer() -> LoadedKey:
    """The key that signs now; the first one is created on first use."""
    now = time.time()
    key = keyset().signer(now)
    if key is None:
        key_create(signs_from=timezone.now())
        key = keyset().signer(time.time())
    assert key is not None  # noqa: S101 - just created
    return key


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set of every published public key."""
    return {"keys": [key.jwk() for key in keyset().published(time.time())]}


def forget() -> None:
    """Drop this process's copy (after a change here; tests between cases)."""
    global _current, _last_unknown_reload
    with _lock:
        _current = None
        _last_unknown_reload = 0.0

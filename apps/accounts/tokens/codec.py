"""The two kinds of token, encoded and checked locally (signature and claims only).

An access token (`typ: at+jwt`, RFC 9068) is for our API and anyone holding the JWKS;
a refresh token (`typ: rt+jwt`, audience: the issuer itself) only ever comes back to the
refresh endpoint. Each is refused where the other is expected, by `typ` and by `aud`.

`sid` is the session's key, encrypted (AES-GCM, key derived from SECRET_KEY): a leaked
token must not hand out the session key, which would work as an X-Session-Token or a
cookie. Every other claim is readable by whoever holds the token, and carries nothing
they should not see (no Access: docs/architecture.md).
"""

import base64
import binascii
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

from . import conf, keys

_SID_PURPOSE = "tollgate.tokens.sid"
_NONCE = 12
_COMPACT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_ACCESS_REQUIRED = ["iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp"]


class TokenInvalidError(Exception):
    """Malformed, forged, of the wrong kind, for someone else, or signed by a key that is
    not (or no longer) published. The message is for our tests, never for the client."""


class TokenExpiredError(TokenInvalidError):
    """Signed by us, and past its `exp`."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    session_key: str
    generation: int | None  # the user's generation at issue (None: Redis was down)
    jti: str
    expires_at: int
    raw: dict[str, Any]


@cache
def _ciphers(secret: str) -> AESGCM:
    return AESGCM(salted_hmac(_SID_PURPOSE, "", secret=secret, algorithm="sha256").digest())


def sid_encrypt(session_key: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = _ciphers(settings.SECRET_KEY).encrypt(nonce, session_key.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def sid_decrypt(sid: str) -> str:
    try:
        data = base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalidError("sid is not base64url") from exc
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        try:
            return _ciphers(secret).decrypt(data[:_NONCE], data[_NONCE:], None).decode()
        except (InvalidTag, ValueError):
            continue
    raise TokenInvalidError("sid does not decrypt")


def _encode(payload: dict[str, Any], *, typ: str, lifetime: int) -> tuple[str, dict[str, Any]]:
    key = keys.signer()
    now = int(time.time())
    claims = {
        "iss": conf.issuer(),
        **payload,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }
    headers = {"kid": key.kid, "typ": typ}
    return jwt.encode(claims, key.private_key, algorithm=conf.ALGORITHM, headers=headers), claims


def access_encode(*, user_id: int, session_key: str, generation: int | None) -> str:
    payload = {
        "aud": conf.audience(),
        "sub": str(user_id),
        "sid": sid_encrypt(session_key),
        "gen": generation,
    }
    return _encode(payload, typ=conf.ACCESS_TYPE, lifetime=conf.access_lifetime())[0]


def refresh_encode(*, user_id: int, session_key: str) -> tuple[str, dict[str, Any]]:
    """The token and its claims (the session keeps its `jti`: strategy.py)."""
    payload = {"aud": conf.issuer(), "sub": str(user_id), "sid": sid_encrypt(session_key)}
    return _encode(payload, typ=conf.REFRESH_TYPE, lifetime=conf.refresh_lifetime())


def access_decode(token: str) -> Claims:
    """The claims of a well-formed, unexpired access token that one of our published keys
    signed; raises TokenExpiredError or TokenInvalidError. No I/O on a known `kid`."""
    return _decode(token, typ=conf.ACCESS_TYPE, audience=conf.audience())


def refresh_decode(token: str) -> Claims:
    return _decode(token, typ=conf.REFRESH_TYPE, audience=conf.issuer())


def _decode(token: str, *, typ: str, audience: str) -> Claims:
    if len(token) > conf.MAX_LENGTH:
        raise TokenInvalidError("oversized")
    header = _header(token)
    kid = header.get("kid")
    # Exactly our algorithm: refuses `none` and HS256 signed with the public key before
    # any key is chosen (PyJWT refuses them too, given only RS256).
    if header.get("alg") != conf.ALGORITHM or header.get("typ") != typ or not isinstance(kid, str):
        raise TokenInvalidError("unexpected header")
    keyset = keys.keyset_knowing(kid)
    key = (
        keyset.for_access(kid, time.time()) if typ == conf.ACCESS_TYPE else keyset.for_refresh(kid)
    )
    if key is None:
        raise TokenInvalidError("unknown kid")
    try:
        payload = jwt.decode(
            token,
            key.public_key,
            algorithms=[conf.ALGORITHM],
            audience=audience,
            issuer=conf.issuer(),
            leeway=conf.LEEWAY,
            options={"require": _ACCESS_REQUIRED, "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpiredError("expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalidError(type(exc).__name__) from exc
    return _claims(payload)


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, parsed only to pick the key (PyJWT then checks it all again;
    its `get_unverified_header` would validate every segment twice)."""
    if not _COMPACT.match(token):
        raise TokenInvalidError("not a compact JWS")
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise TokenInvalidError("malformed header") from exc
    if not isinstance(header, dict):
        raise TokenInvalidError("malformed header")
    return header


def _claims(payload: dict[str, Any]) -> Claims:
    sub, sid, jti, generation = (payload.get(k) for k in ("sub", "sid", "jti", "gen"))
    if not (
        isinstance(sub, str) and sub.isdigit() and isinstance(sid, str) and isinstance(jti, str)
    ):
        raise TokenInvalidError("claims of the wrong type")
    if generation is not None and (not isinstance(generation, int) or isinstance(generation, bool)):
        raise TokenInvalidError("gen is not an integer")
    return Claims(
        user_id=int(sub),
        session_key=sid_decrypt(sid),
        generation=generation,
        jti=jti,
        expires_at=int(payload["exp"]),
        raw=payload,
    )

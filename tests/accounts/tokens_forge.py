"""Tokens as an attacker (or a confused client) would make them, from a real one."""

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.accounts.tokens import keys


def claims_of(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def header_of(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


def signed(token: str, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """`token` re-signed by the real current key, with claims (and header) changed."""
    key = keys.signer()
    headers = {**header_of(token), **(header or {})}
    headers.pop("alg", None)
    payload = {**claims_of(token), **claims}
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers=headers)


def foreign_signed(token: str) -> str:
    """Same header (kid included) and claims, signed by a key that is not ours."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = header_of(token)
    headers.pop("alg", None)
    return jwt.encode(claims_of(token), stranger, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(payload).encode())
    return f"{head}.{body}.{_b64(signature)}"


def unsigned(token: str) -> str:
    """`alg: none`, no signature."""
    return raw({**header_of(token), "alg": "none"}, claims_of(token))


def hs256_with_public_key(token: str) -> str:
    """The algorithm-confusion attack: HMAC-SHA256 keyed with our published public key."""
    public_pem = keys.signer().public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {**header_of(token), "alg": "HS256"}
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims_of(token)).encode())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"

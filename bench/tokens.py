"""Token verification, in µs per call: Tollgate's full check against PyJWT alone.

    DATABASE_URL=... TEST_REDIS_URL=... nice -n 0 .venv/bin/python bench/tokens.py

In-process (timeit), on the test settings: its own test database (`test_<name>`, kept)
and Redis db (`TEST_REDIS_URL`, flushed), so it never touches the HTTP benchmark's.
A member signs in through allauth headless; then, for that access token:

- `pyjwt`: `jwt.decode` with the public key, algorithm, audience and issuer: what any
  relying party with our JWKS does;
- `local`: Tollgate's local checks (length, header, kid, PyJWT, claim types, sid);
- `full, near-cache hit`: local checks + the session, identity and generation through
  the near cache (what /api/v1/me does before serialising);
- `full, cold thread`: the same when this thread holds no copy (one MGET);
- for the choice of algorithm: PyJWT alone signing and verifying RS256 and EdDSA.
"""

import os
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call_us(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.chdir(ROOT)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(keepdb=True, verbosity=0)

    import jwt
    from allauth.account.models import EmailAddress
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from django.test import Client
    from django_redis import get_redis_connection

    from apps.accounts.models import User
    from apps.accounts.tokens import codec, conf, keys
    from apps.accounts.tokens.verify import access_token_verify
    from apps.core.near_cache import near_cache
    from tests.accounts import headless

    get_redis_connection("default").flushdb()
    near_cache().clear()
    email, password = "bench-tokens@example.com", "correct horse battery staple"
    User.objects.filter(email=email).delete()
    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    token = headless.sign_in(Client(), email=email, password=password)["access_token"]
    public_key = keys.signer().public_key
    audience, issuer = conf.audience(), conf.issuer()

    def pyjwt() -> None:
        jwt.decode(token, public_key, algorithms=["RS256"], audience=audience, issuer=issuer)

    def full_cold() -> None:
        near_cache().clear()
        access_token_verify(token)

    for _ in range(3):  # compute, re-read (tracked), hit
        access_token_verify(token)
    assert access_token_verify(token).access_current

    rows = {
        "pyjwt RS256 decode (signature + exp/aud/iss)": per_call_us(pyjwt, 2000),
        "tollgate local checks (codec.access_decode)": per_call_us(
            lambda: codec.access_decode(token), 2000
        ),
        "tollgate full verify, near-cache hit": per_call_us(
            lambda: access_token_verify(token), 2000
        ),
        "tollgate full verify, cold thread (1 MGET)": per_call_us(full_cold, 500),
    }

    claims = jwt.decode(token, options={"verify_signature": False})
    rsa_private = keys.signer().private_key
    ed_private = ed25519.Ed25519PrivateKey.generate()
    ed_token = jwt.encode(claims, ed_private, algorithm="EdDSA")
    ed_public = ed_private.public_key()
    rows |= {
        "pyjwt RS256 (2048) sign": per_call_us(
            lambda: jwt.encode(claims, rsa_private, algorithm="RS256"), 200
        ),
        "pyjwt EdDSA (Ed25519) sign": per_call_us(
            lambda: jwt.encode(claims, ed_private, algorithm="EdDSA"), 2000
        ),
        "pyjwt EdDSA (Ed25519) decode": per_call_us(
            lambda: jwt.decode(
                ed_token, ed_public, algorithms=["EdDSA"], audience=audience, issuer=issuer
            ),
            2000,
        ),
    }
    print(f"access token: {len(token)} characters; pid {os.getpid()}")
    width = max(map(len, rows))
    for name, micros in rows.items():
        print(f"{name:<{width}}  {micros:8.1f} µs")
    User.objects.filter(email=email).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

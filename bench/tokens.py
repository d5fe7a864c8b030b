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
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


ROUNDS = 7


def per_call_us(fn: Any, number: int) -> float:
    return timeit.timeit(fn, number=number) / number * 1e6


def measure(rows: dict[str, tuple[Any, int]]) -> dict[str, list[float]]:
    """Each row once per round, rounds interleaved: a load spike on the shared machine
    then hits every row of a round alike, and ratios within a round stay fair."""
    results: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(ROUNDS):
        for name, (fn, number) in rows.items():
            results[name].append(per_call_us(fn, number))
    return results


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
    from tests.redis_counter import count_round_trips

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

    claims = jwt.decode(token, options={"verify_signature": False})
    rsa_private = keys.signer().private_key
    ed_private = ed25519.Ed25519PrivateKey.generate()
    ed_token = jwt.encode(claims, ed_private, algorithm="EdDSA")
    ed_public = ed_private.public_key()
    rows: dict[str, tuple[Any, int]] = {
        "pyjwt RS256 decode (signature + exp/aud/iss)": (pyjwt, 1000),
        "tollgate local checks (codec.access_decode)": (lambda: codec.access_decode(token), 1000),
        "tollgate full verify, near-cache hit": (lambda: access_token_verify(token), 1000),
        "tollgate full verify, cold thread (1 MGET)": (full_cold, 300),
        "pyjwt RS256 (2048) sign": (
            lambda: jwt.encode(claims, rsa_private, algorithm="RS256"),
            100,
        ),
        "pyjwt EdDSA (Ed25519) sign": (
            lambda: jwt.encode(claims, ed_private, algorithm="EdDSA"),
            1000,
        ),
        "pyjwt EdDSA (Ed25519) decode": (
            lambda: jwt.decode(
                ed_token, ed_public, algorithms=["EdDSA"], audience=audience, issuer=issuer
            ),
            1000,
        ),
    }
    with count_round_trips() as sent:
        for _ in range(1000):
            access_token_verify(token)
    results = measure(rows)
    baseline = results["pyjwt RS256 decode (signature + exp/aud/iss)"]
    print(f"access token: {len(token)} characters; {ROUNDS} interleaved rounds")
    print(f"Redis round trips in 1000 repeat verifications: {len(sent)}")
    width = max(map(len, rows))
    print(f"{'':<{width}}  {'min µs':>8}  {'median µs':>9}  {'÷ pyjwt RS256 (median)':>22}")
    for name, values in results.items():
        ratio = statistics.median(v / b for v, b in zip(values, baseline, strict=True))
        print(
            f"{name:<{width}}  {min(values):8.1f}  {statistics.median(values):9.1f}  {ratio:22.2f}"
        )
    User.objects.filter(email=email).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

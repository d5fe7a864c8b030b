"""Every bad token gets a standard RFC 6750 answer, grants nothing and logs nothing of it."""

import logging
import time
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from apps.accounts.tokens import conf
from tests.accounts import headless
from tests.accounts import tokens_forge as forge

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(user, password) -> dict[str, str]:  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return headless.sign_in(Client(), email=user.email, password=password)


def _now() -> int:
    return int(time.time())


BAD_TOKENS: dict[str, Callable[[str, str], str]] = {
    "malformed": lambda at, rt: "not.a.jwt",
    "garbage": lambda at, rt: "x" * 40,
    "truncated signature": lambda at, rt: at[:-10],
    "expired": lambda at, rt: forge.signed(
        at, iat=_now() - 3600, nbf=_now() - 3600, exp=_now() - 60
    ),
    "not yet valid": lambda at, rt: forge.signed(at, nbf=_now() + 3600),
    "issued in the future": lambda at, rt: forge.signed(at, iat=_now() + 3600),
    "forged signature": lambda at, rt: forge.foreign_signed(at),
    "alg none": lambda at, rt: forge.unsigned(at),
    "HS256 with the public key": lambda at, rt: forge.hs256_with_public_key(at),
    "unknown kid": lambda at, rt: forge.signed(at, header={"kid": "no-such-key"}),
    "no kid": lambda at, rt: forge.raw({"alg": "RS256", "typ": "at+jwt"}, forge.claims_of(at)),
    "wrong audience": lambda at, rt: forge.signed(at, aud="https://elsewhere.example/"),
    "audience list": lambda at, rt: forge.signed(at, aud=[conf.audience(), "https://x.example"]),
    "wrong issuer": lambda at, rt: forge.signed(at, iss="https://evil.example"),
    "refresh token as access token": lambda at, rt: rt,
    "access typ missing": lambda at, rt: forge.signed(at, header={"typ": "JWT"}),
    "no exp": lambda at, rt: forge.signed(at, exp=None),
    "sid tampered": lambda at, rt: forge.signed(at, sid=forge.claims_of(rt)["sid"][:-4]),
    "sub of another user": lambda at, rt: forge.signed(at, sub="999999"),
    "gen not an integer": lambda at, rt: forge.signed(at, gen="7"),
    "oversized": lambda at, rt: forge.signed(at, pad="x" * conf.MAX_LENGTH),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_bad_token_is_refused_with_invalid_token_and_logs_nothing_of_it(case, tokens, caplog):
    bad = BAD_TOKENS[case](tokens["access_token"], tokens["refresh_token"])
    caplog.set_level(logging.DEBUG)

    response = headless.me(Client(), bad)

    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="tollgate", error="invalid_token"')
    assert response.json()["error"] == "invalid_token"
    assert set(response.json()) == {"error", "error_description"}
    assert "no-store" in response["Cache-Control"]
    signature = bad.rsplit(".", 1)[-1]
    for text in (response.content.decode(), challenge, caplog.text):
        assert bad not in text
        assert len(signature) < 8 or signature not in text


def test_an_expired_token_says_so_and_a_refused_one_does_not_say_why(tokens):
    at = tokens["access_token"]
    expired = forge.signed(at, iat=_now() - 3600, nbf=_now() - 3600, exp=_now() - 60)
    descriptions = {
        headless.me(Client(), token).json()["error_description"]
        for token in (forge.foreign_signed(at), forge.unsigned(at), "not.a.jwt")
    }
    assert (
        headless.me(Client(), expired)
        .json()["error_description"]
        .startswith("The access token expired")
    )
    assert descriptions == {"The access token is invalid."}


def test_no_credentials_get_a_bare_challenge(db):
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="tollgate"'


def test_another_scheme_counts_as_no_credentials(tokens):
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Basic {tokens['access_token']}")
    assert response.status_code == 401
    assert "error=" not in response["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer <script>"])
def test_a_malformed_authorization_header_is_an_invalid_request(header, db):
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 400
    assert 'error="invalid_request"' in response["WWW-Authenticate"]


def test_a_token_in_the_query_string_is_refused_not_read(tokens):
    response = Client().get("/api/v1/me", {"access_token": tokens["access_token"]})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response["WWW-Authenticate"]


def test_a_session_cookie_does_not_open_the_token_api(client, user):
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 401


def test_a_good_token_still_works_beside_the_bad_ones(tokens):
    assert headless.me(Client(), tokens["access_token"]).status_code == 200


def test_the_forgeries_start_from_a_token_that_verifies(tokens):
    # So each case above is refused for what it changed, not for how it was made.
    assert headless.me(Client(), forge.signed(tokens["access_token"])).status_code == 200


@pytest.mark.parametrize(
    "case", ["access token", "alg none", "forged signature", "wrong issuer", "oversized"]
)
def test_the_refresh_endpoint_refuses_what_is_not_a_refresh_token_of_ours(case, tokens):
    at, rt = tokens["access_token"], tokens["refresh_token"]
    bad = {
        "access token": at,
        "alg none": forge.unsigned(rt),
        "forged signature": forge.foreign_signed(rt),
        "wrong issuer": forge.signed(rt, iss="https://evil.example"),
        "oversized": forge.signed(rt, pad="x" * conf.MAX_LENGTH),
    }[case]
    client = Client()
    assert headless.refresh(client, bad).status_code == 400
    assert headless.refresh(client, rt).status_code == 200  # and the family lives on

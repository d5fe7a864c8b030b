"""Access tokens: what they carry, the generation rule, keys, rotation and the JWKS."""

from datetime import timedelta

import jwt
import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import SigningKey
from apps.accounts.tokens import conf, keys
from apps.accounts.tokens.codec import sid_decrypt
from apps.accounts.tokens.verify import access_token_verify
from apps.core import state
from apps.core.near_cache import near_cache
from tests.accounts import headless
from tests.accounts import tokens_forge as forge

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys")]


@pytest.fixture
def verified_user(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def tokens(verified_user, password) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return headless.sign_in(Client(), email=verified_user.email, password=password)


def jwks_verify(token: str, jwks: dict) -> dict:  # type: ignore[type-arg]
    """What any relying party does with our JWKS and PyJWT, knowing nothing else."""
    key = jwt.PyJWKSet.from_dict(jwks)[forge.header_of(token)["kid"]]
    payload: dict = jwt.decode(token, key, algorithms=["RS256"], audience=conf.audience())  # type: ignore[type-arg]
    return payload


def test_an_access_token_carries_kid_issuer_audience_session_and_generation(tokens, user):
    header = forge.header_of(tokens["access_token"])
    claims = forge.claims_of(tokens["access_token"])

    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == SigningKey.objects.get().kid
    assert claims["iss"] == "http://testserver"
    assert claims["aud"] == "http://testserver/api/"
    assert claims["sub"] == str(user.pk)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["gen"] == state.read(user.pk).generation
    # The session key is in the token only encrypted: it must not work as a session token.
    session_key = sid_decrypt(claims["sid"])
    assert session_key.startswith(f"{user.pk}-")
    assert session_key not in tokens["access_token"]
    refresh = forge.claims_of(tokens["refresh_token"])
    assert refresh["exp"] - refresh["iat"] == 30 * 86400


def test_lifetimes_come_from_settings(settings, verified_user, password):
    settings.TOKENS_ACCESS_LIFETIME = "5m"
    settings.TOKENS_REFRESH_LIFETIME = "2d"
    meta = headless.sign_in(Client(), email=verified_user.email, password=password)
    access, refresh = forge.claims_of(meta["access_token"]), forge.claims_of(meta["refresh_token"])
    assert access["exp"] - access["iat"] == 300
    assert refresh["exp"] - refresh["iat"] == 2 * 86400
    assert meta["expires_in"] == 300


def test_anyone_verifies_an_access_token_with_the_published_jwks(tokens):
    response = Client().get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Cache-Control"] == f"public, max-age={conf.JWKS_MAX_AGE}"
    jwks = response.json()
    assert all("d" not in key and "p" not in key for key in jwks["keys"])  # public halves only
    assert (
        jwks_verify(tokens["access_token"], jwks)["sub"]
        == forge.claims_of(tokens["access_token"])["sub"]
    )


def test_openid_configuration_names_the_issuer_and_the_jwks(db):
    body = Client().get("/.well-known/openid-configuration").json()
    assert body["issuer"] == "http://testserver"
    assert body["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert body["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "authorization_endpoint" not in body  # none of ours: only what applies


def test_a_repeat_request_verifies_with_no_redis_round_trip_and_no_sql(tokens, redis_round_trips):
    token = tokens["access_token"]
    access_token_verify(token)  # a miss: reads Postgres, writes the copies
    access_token_verify(token)  # re-reads them, so Redis tracks them for this thread
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        verified = access_token_verify(token)

    assert verified.access_current
    assert redis_round_trips == []
    assert queries.captured_queries == []

    near_cache().clear()  # another worker thread: two MGETs, still no SQL
    with CaptureQueriesContext(connection) as queries:
        access_token_verify(token)
    # The signing keys' generation (is this process's copy of the keys still good?),
    # then the session's state.
    assert redis_round_trips == ["MGET", "MGET"]
    assert queries.captured_queries == []


def test_an_access_change_keeps_the_token_valid_but_not_its_generation(tokens, user):
    token = tokens["access_token"]
    assert access_token_verify(token).access_current

    state.invalidate([state.user(user.pk)])  # what a webhook's commit does

    verified = access_token_verify(token)  # still the user's, still active...
    assert verified.user.pk == user.pk
    assert not verified.access_current  # ...but whatever it was issued with is not trusted
    assert verified.snapshot.generation == forge.claims_of(token)["gen"] + 1


def test_a_password_change_makes_every_token_inactive(tokens, user):
    user.set_password("another long passphrase")
    user.save()
    assert headless.me(Client(), tokens["access_token"]).status_code == 401


def test_deactivating_the_user_makes_their_tokens_inactive(
    tokens, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert headless.me(Client(), tokens["access_token"]).status_code == 401


def test_an_apps_session_lives_as_long_as_its_refresh_token_not_a_browsers(tokens, settings):
    from django.contrib.sessions.models import Session

    session_key = sid_decrypt(forge.claims_of(tokens["access_token"])["sid"])
    row = Session.objects.get(session_key=session_key)
    refresh_exp = forge.claims_of(tokens["refresh_token"])["exp"]
    assert abs(row.expire_date.timestamp() - refresh_exp) <= 1

    settings.SESSION_IDLE_TIMEOUT = -1  # every browser's session has idled out...
    settings.SESSION_COOKIE_AGE = -1  # ...and is too old
    assert headless.me(Client(), tokens["access_token"]).status_code == 200  # not an app's


def test_an_apps_session_that_expired_makes_its_tokens_inactive(tokens):
    from django.contrib.sessions.models import Session

    session_key = sid_decrypt(forge.claims_of(tokens["access_token"])["sid"])
    Session.objects.filter(session_key=session_key).update(expire_date=timezone.now())
    state.invalidate([state.user(int(forge.claims_of(tokens["access_token"])["sub"]))])

    assert headless.me(Client(), tokens["access_token"]).status_code == 401
    assert headless.refresh(Client(), tokens["refresh_token"]).status_code == 400


def test_the_token_survives_a_redis_flush(tokens, redis):
    redis.flushdb()
    near_cache().clear()
    assert headless.me(Client(), tokens["access_token"]).status_code == 200  # from Postgres


def test_the_access_token_stands_in_for_the_session_token_on_allauth_endpoints(tokens):
    response = Client().get(
        f"{headless.APP}/auth/session", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )
    assert response.status_code == 200
    assert response.json()["meta"]["is_authenticated"] is True


# --- keys and rotation -------------------------------------------------------------


def test_rotation_publishes_the_new_key_before_it_signs_and_the_old_one_after(tokens, db):
    old = SigningKey.objects.get()
    call_command("tokens_rotate_key")
    new = SigningKey.objects.exclude(pk=old.pk).get()
    now = timezone.now().timestamp()

    published = {key["kid"] for key in keys.jwks()["keys"]}
    assert published == {old.kid, new.kid}
    assert keys.keyset().signer(now).kid == old.kid  # the new one waits for caches
    assert keys.keyset().signer(now + conf.publish_ahead() + 1).kid == new.kid

    # The old key's last token expires an access lifetime after the new key signs.
    handover = new.signs_from.timestamp()
    assert old.kid in {k.kid for k in keys.keyset().published(handover + conf.access_lifetime())}
    assert old.kid not in {
        k.kid for k in keys.keyset().published(handover + conf.publish_after() + 1)
    }
    assert headless.me(Client(), tokens["access_token"]).status_code == 200


def test_rotating_immediately_signs_new_tokens_with_the_new_key(verified_user, password):
    first = headless.sign_in(Client(), email=verified_user.email, password=password)
    call_command("tokens_rotate_key", "--immediately")
    second = headless.sign_in(Client(), email=verified_user.email, password=password)

    assert (
        forge.header_of(first["access_token"])["kid"]
        != forge.header_of(second["access_token"])["kid"]
    )
    assert headless.me(Client(), first["access_token"]).status_code == 200  # still published
    assert headless.me(Client(), second["access_token"]).status_code == 200


def test_a_retired_key_stops_verifying_access_tokens_once_unpublished(tokens):
    old = SigningKey.objects.get()
    call_command("tokens_rotate_key", "--immediately")
    SigningKey.objects.filter(pk=old.pk).update(signs_from=timezone.now() - timedelta(days=1))
    SigningKey.objects.exclude(pk=old.pk).update(
        signs_from=timezone.now() - timedelta(seconds=conf.publish_after() + 1)
    )
    keys.forget()

    assert old.kid not in {key["kid"] for key in keys.jwks()["keys"]}
    assert headless.me(Client(), tokens["access_token"]).status_code == 401
    # Its refresh tokens still refresh (they live 30 days), into tokens of the new key.
    fresh = headless.refresh(Client(), tokens["refresh_token"]).json()["data"]
    assert headless.me(Client(), fresh["access_token"]).status_code == 200


def test_rotation_deletes_keys_no_unexpired_token_uses(db):
    long_ago = timezone.now() - timedelta(seconds=conf.refresh_lifetime() + 3600)
    first = keys.key_create(signs_from=long_ago - timedelta(days=1))
    keys.key_create(signs_from=long_ago)
    _, deleted = keys.key_rotate()
    assert deleted == 1
    assert not SigningKey.objects.filter(pk=first.pk).exists()


def test_the_private_key_is_stored_encrypted_and_never_shown_in_the_admin(tokens, admin_client):
    key = SigningKey.objects.get()
    assert b"PRIVATE KEY" not in bytes(key.private_encrypted)
    page = admin_client.get(f"/admin/accounts/signingkey/{key.pk}/change/")
    listing = admin_client.get("/admin/accounts/signingkey/")
    assert listing.status_code == 200
    assert key.kid in listing.content.decode()
    assert bytes(key.private_encrypted).decode() not in page.content.decode()
    assert "private" not in page.content.decode().lower()


def test_a_kid_another_process_just_created_is_found_at_once(db, django_assert_num_queries):
    keys.key_create(signs_from=timezone.now())
    stale = keys.keyset()  # this process's copy, trusted for a minute
    other = keys.key_create(signs_from=timezone.now())  # as another process would
    keys._current = stale

    assert keys.keyset_knowing(other.kid).for_refresh(other.kid) is not None
    with django_assert_num_queries(0):  # made-up kids cost a query every few seconds only
        assert keys.keyset_knowing("made-up").for_refresh("made-up") is None


@pytest.mark.parametrize(
    ("access", "refresh", "named"),
    [
        ("15 minutes", "30d", "TOKENS_ACCESS_LIFETIME"),
        ("10", "30d", "TOKENS_ACCESS_LIFETIME"),  # shorter than any client's round trip
        ("15m", "soon", "TOKENS_REFRESH_LIFETIME"),
        ("1h", "30m", "TOKENS_REFRESH_LIFETIME"),  # must outlive the access token
    ],
)
def test_a_bad_lifetime_fails_the_system_check_naming_the_variable(
    settings, access, refresh, named
):
    from apps.accounts.tokens.checks import check_token_settings

    settings.TOKENS_ACCESS_LIFETIME = access
    settings.TOKENS_REFRESH_LIFETIME = refresh
    errors = check_token_settings()
    assert [error.id for error in errors] == ["accounts.E010"]
    assert errors[0].msg.startswith(named)


def test_the_default_lifetimes_pass_the_system_check():
    from apps.accounts.tokens.checks import check_token_settings

    assert check_token_settings() == []
    assert (conf.access_lifetime(), conf.refresh_lifetime()) == (900, 30 * 86400)


def test_the_browser_client_uses_the_session_cookie_and_gets_no_tokens(client, user):
    client.force_login(user)
    response = client.get("/_allauth/browser/v1/auth/session")
    assert response.status_code == 200
    assert response.json()["meta"]["is_authenticated"] is True
    assert "access_token" not in response.json()["meta"]


def test_the_jwks_publishes_only_what_verifies(tokens):
    [key] = Client().get("/.well-known/jwks.json").json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}
    assert (key["use"], key["alg"]) == ("sig", "RS256")

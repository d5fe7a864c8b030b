"""`manage.py tokens_rotate_key --revoke <kid>`: a compromised signing key retired at once."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from apps.accounts.management.commands.tokens_rotate_key import Command
from apps.accounts.models import SigningKey
from apps.accounts.tokens import keys
from apps.accounts.tokens.codec import TokenInvalidError
from apps.accounts.tokens.verify import access_token_verify
from apps.core.near_cache import near_cache
from tests.accounts import headless
from tests.accounts import tokens_forge as forge

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys")]


@pytest.fixture
def sign_in(user, password):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return lambda: headless.sign_in(Client(), email=user.email, password=password)


def revoke(kid: str) -> str:
    out = StringIO()
    call_command("tokens_rotate_key", f"--revoke={kid}", stdout=out)  # a kid may start with -
    return out.getvalue()


def published() -> set[str]:
    return {key["kid"] for key in Client().get("/.well-known/jwks.json").json()["keys"]}


def test_revoking_the_current_key_unpublishes_it_and_refuses_its_tokens_at_once(
    sign_in, django_capture_on_commit_callbacks
):
    tokens = sign_in()
    compromised = forge.header_of(tokens["access_token"])["kid"]
    assert headless.me(Client(), tokens["access_token"]).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        output = revoke(compromised)

    assert compromised in output
    assert compromised not in published()
    assert headless.me(Client(), tokens["access_token"]).status_code == 401
    assert headless.refresh(Client(), tokens["refresh_token"]).status_code == 400
    # A fresh key signs from now on, and is published.
    fresh = sign_in()
    kid = forge.header_of(fresh["access_token"])["kid"]
    assert kid != compromised
    assert kid in published()
    assert headless.me(Client(), fresh["access_token"]).status_code == 200


def test_another_process_copy_of_the_keys_is_refused_on_its_next_request(
    sign_in, django_capture_on_commit_callbacks
):
    """Other processes keep the key set for a minute; the revocation moves a generation
    of the access-state layer, so their next verification reloads it."""
    tokens = sign_in()
    token = tokens["access_token"]
    access_token_verify(token)
    access_token_verify(token)  # warm: near-cached, as a busy worker thread is
    stale = keys.keyset()  # another process's copy, still trusting the key

    with django_capture_on_commit_callbacks(execute=True):
        revoke(forge.header_of(token)["kid"])
    keys._current = stale  # as that process still holds it

    with pytest.raises(TokenInvalidError):
        access_token_verify(token)
    near_cache().clear()
    keys._current = stale  # and on a thread with nothing near-cached
    with pytest.raises(TokenInvalidError):
        access_token_verify(token)


def test_revoking_an_older_key_keeps_the_current_one_signing(
    sign_in, django_capture_on_commit_callbacks
):
    old_tokens = sign_in()
    old = forge.header_of(old_tokens["access_token"])["kid"]
    call_command("tokens_rotate_key", "--immediately", stdout=StringIO())
    current_tokens = sign_in()
    current = forge.header_of(current_tokens["access_token"])["kid"]

    with django_capture_on_commit_callbacks(execute=True):
        revoke(old)

    assert published() == {current}
    assert SigningKey.objects.count() == 1  # no new key: the current one was not hit
    assert headless.me(Client(), old_tokens["access_token"]).status_code == 401
    assert headless.me(Client(), current_tokens["access_token"]).status_code == 200


def test_revoking_while_a_successor_waits_to_sign_gives_a_key_that_signs_now(
    sign_in, django_capture_on_commit_callbacks
):
    tokens = sign_in()
    compromised = forge.header_of(tokens["access_token"])["kid"]
    call_command("tokens_rotate_key", stdout=StringIO())  # published ahead, signs later
    waiting = SigningKey.objects.exclude(kid=compromised).get()

    with django_capture_on_commit_callbacks(execute=True):
        revoke(compromised)

    signer = keys.keyset().signer(timezone.now().timestamp())
    assert signer is not None
    assert signer.kid not in (compromised, waiting.kid)
    assert published() == {signer.kid, waiting.kid}


def test_an_unknown_kid_is_an_error_and_changes_nothing(sign_in):
    sign_in()
    before = set(SigningKey.objects.values_list("kid", flat=True))

    with pytest.raises(CommandError, match="no signing key"):
        revoke("not-a-kid")

    assert set(SigningKey.objects.values_list("kid", flat=True)) == before


def test_revoke_and_immediately_do_not_mix(sign_in):
    sign_in()
    with pytest.raises(CommandError):
        call_command("tokens_rotate_key", "--revoke", "x", "--immediately")


def test_a_kid_that_starts_with_a_dash_is_revoked_as_the_help_says(
    sign_in, django_capture_on_commit_callbacks
):
    """A kid is a JWK thumbprint in base64url, so one in 64 starts with "-", which argparse
    takes for an option after a separate `--revoke` (this failed a CI run at random).
    The command's usage is `--revoke=KID`, which reads any kid."""
    sign_in()
    call_command("tokens_rotate_key", "--immediately", stdout=StringIO())
    kid = "-" + SigningKey.objects.order_by("pk").first().kid[1:]
    SigningKey.objects.filter(pk=SigningKey.objects.order_by("pk").first().pk).update(kid=kid)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("tokens_rotate_key", f"--revoke={kid}", stdout=StringIO())

    assert "--revoke=KID" in Command().create_parser("manage.py", "tokens_rotate_key").format_help()
    assert not SigningKey.objects.filter(kid=kid).exists()

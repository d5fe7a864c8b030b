"""MFA (TOTP + recovery codes) and connected accounts, through allauth's real views."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


@pytest.fixture
def github_configured(settings):  # type: ignore[no-untyped-def]
    providers = {**settings.SOCIALACCOUNT_PROVIDERS}
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "gh-client", "secret": "gh-secret", "settings": {}}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(client: Client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("account_login"), {"login": email, "password": password})


def activate_totp(client: Client, password: str) -> str:
    # allauth asks for the password again before security changes, even right after login.
    client.post(reverse("account_reauthenticate"), {"password": password})
    client.get(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert response.status_code == 302
    return secret


def test_member_can_activate_totp_and_gets_recovery_codes(client, member, password):
    sign_in(client, member.email, password)
    activate_totp(client, password)
    kinds = set(Authenticator.objects.filter(user=member).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_with_totp_on_sign_in_asks_for_a_code_before_the_session_is_signed_in(
    client, member, password
):
    sign_in(client, member.email, password)
    secret = activate_totp(client, password)
    client.post(reverse("account_logout"))

    response = sign_in(client, member.email, password)
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("api_session")).status_code == 401  # not yet

    client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert client.get(reverse("api_session")).status_code == 200


def test_a_wrong_totp_code_does_not_sign_in(client, member, password):
    sign_in(client, member.email, password)
    activate_totp(client, password)
    client.post(reverse("account_logout"))
    sign_in(client, member.email, password)

    client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert client.get(reverse("api_session")).status_code == 401


def test_connected_provider_can_be_disconnected_when_a_password_remains(
    client, member, password, github_configured
):
    account = SocialAccount.objects.create(user=member, provider="github", uid="12345")
    sign_in(client, member.email, password)

    client.post(reverse("socialaccount_connections"), {"account": account.pk})

    assert not SocialAccount.objects.filter(pk=account.pk).exists()


def test_the_last_way_to_sign_in_cannot_be_disconnected(
    client, member, password, github_configured
):
    account = SocialAccount.objects.create(user=member, provider="github", uid="12345")
    sign_in(client, member.email, password)
    member.set_unusable_password()
    member.save()
    client.force_login(member)  # the password change signed this session out

    client.post(reverse("socialaccount_connections"), {"account": account.pk})

    assert SocialAccount.objects.filter(pk=account.pk).exists()

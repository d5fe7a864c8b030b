"""HEAD on a provider's login URL must not start the OAuth flow (allauth starts it for any
method but GET)."""

import pytest
from django.urls import reverse

from tests.accounts.oauth_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    OIDC_SERVER_URL,
    FakeProviders,
    install,
)

pytestmark = pytest.mark.django_db

LOGIN_URLS = {
    "google": lambda: reverse("google_login"),
    "github": lambda: reverse("github_login"),
    "discord": lambda: reverse("discord_login"),
    "microsoft": lambda: reverse("microsoft_login"),
    "keycloak": lambda: reverse("openid_connect_login", kwargs={"provider_id": "keycloak"}),
}


@pytest.fixture(autouse=True)
def _all_providers(providers_from_env, monkeypatch) -> FakeProviders:  # type: ignore[no-untyped-def]
    providers_from_env(
        **{
            f"{name}_{part}": value
            for name in ("GOOGLE", "GITHUB", "DISCORD", "MICROSOFT", "OIDC_KEYCLOAK")
            for part, value in (("CLIENT_ID", CLIENT_ID), ("CLIENT_SECRET", CLIENT_SECRET))
        },
        OIDC_PROVIDERS="keycloak",
        OIDC_KEYCLOAK_SERVER_URL=OIDC_SERVER_URL,
    )
    return install(monkeypatch, FakeProviders())


@pytest.mark.parametrize("provider_id", sorted(LOGIN_URLS))
def test_head_on_a_provider_login_url_does_not_start_the_flow(client, provider_id):
    response = client.head(LOGIN_URLS[provider_id]())

    assert response.status_code == 405
    assert "Location" not in response
    assert sorted(response["Allow"].split(", ")) == ["GET", "POST"]


@pytest.mark.parametrize("provider_id", sorted(LOGIN_URLS))
def test_get_and_post_on_a_provider_login_url_still_confirm_then_redirect(client, provider_id):
    url = LOGIN_URLS[provider_id]()

    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302


def test_head_on_other_pages_is_answered_as_before(client):
    assert client.head(reverse("account_login")).status_code == 200

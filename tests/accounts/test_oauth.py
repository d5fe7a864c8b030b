"""Social sign-in through allauth's real views, with the providers faked at the HTTP seam.

See `oauth_fakes.py`: `requests.Session.request` is answered by a stateful fake with JSON
fixtures shaped like each provider's API; Postgres, Redis and allauth are all real.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.accounts.factories import UserFactory
from tests.accounts.oauth_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    DISCORD_TOKEN_URL,
    GITHUB_TOKEN_URL,
    GOOGLE_TOKEN_URL,
    MICROSOFT_TOKEN_URL,
    OIDC_SERVER_URL,
    FakeProviders,
    UnexpectedRequestError,
    install,
)
from tests.state_helpers import session_copy_key

pytestmark = pytest.mark.django_db

OIDC_TOKEN_URL = f"{OIDC_SERVER_URL}/protocol/openid-connect/token"


@dataclass(frozen=True)
class Provider:
    key: str  # the SOCIALACCOUNT_PROVIDERS key
    provider_id: str  # SocialAccount.provider and the URL slug
    authorize_url: str
    token_url: str
    pkce: bool
    app: dict[str, object]

    @property
    def login_url(self) -> str:
        if self.key == "openid_connect":
            return reverse("openid_connect_login", kwargs={"provider_id": self.provider_id})
        return reverse(f"{self.key}_login")

    def answer_as(self, fake: FakeProviders) -> Callable[..., None]:
        """The fake's method that serves this provider's token and profile endpoints."""
        method: Callable[..., None] = getattr(fake, self.key)
        return method


def _app(**app_settings: object) -> dict[str, object]:
    return {"client_id": CLIENT_ID, "secret": CLIENT_SECRET, "settings": app_settings}


GOOGLE = Provider(
    key="google",
    provider_id="google",
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url=GOOGLE_TOKEN_URL,
    pkce=True,
    app=_app(),
)
GITHUB = Provider(
    key="github",
    provider_id="github",
    authorize_url="https://github.com/login/oauth/authorize",
    token_url=GITHUB_TOKEN_URL,
    pkce=True,
    app=_app(),
)
DISCORD = Provider(
    key="discord",
    provider_id="discord",
    authorize_url="https://discord.com/api/oauth2/authorize",
    token_url=DISCORD_TOKEN_URL,
    pkce=False,
    app=_app(),
)
MICROSOFT = Provider(
    key="microsoft",
    provider_id="microsoft",
    authorize_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    token_url=MICROSOFT_TOKEN_URL,
    pkce=True,
    app=_app(tenant="common"),
)
KEYCLOAK = Provider(
    key="openid_connect",
    provider_id="keycloak",
    authorize_url=f"{OIDC_SERVER_URL}/protocol/openid-connect/auth",
    token_url=OIDC_TOKEN_URL,
    pkce=True,
    app={"provider_id": "keycloak", "name": "Keycloak", **_app(server_url=OIDC_SERVER_URL)},
)
PROVIDERS = [GOOGLE, GITHUB, DISCORD, MICROSOFT, KEYCLOAK]
by_id = pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.provider_id)


@pytest.fixture
def configure_providers(settings):  # type: ignore[no-untyped-def]
    """Give the named providers one app each and every other provider none.

    Starts from the project's SOCIALACCOUNT_PROVIDERS, so scopes and PKCE stay as
    configured in settings; only the env-built APPS lists are replaced.
    """

    def configure(*providers: Provider) -> None:
        configured = copy.deepcopy(django_settings.SOCIALACCOUNT_PROVIDERS)
        for key, provider_settings in configured.items():
            provider_settings["APPS"] = [copy.deepcopy(p.app) for p in providers if p.key == key]
        settings.SOCIALACCOUNT_PROVIDERS = configured

    return configure


@pytest.fixture(autouse=True)
def fake(monkeypatch, configure_providers) -> FakeProviders:  # type: ignore[no-untyped-def]
    """Every test here: all five providers configured, and no request can leave the box."""
    configure_providers(*PROVIDERS)
    return install(monkeypatch, FakeProviders())


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _with_query(url: str, **params: str) -> str:
    query = {**_query(url), **params}
    return f"{urlsplit(url).path}?{urlencode(query)}"


def _start_login(client: Client, provider: Provider) -> str:
    """Open our confirm page, then POST it; return the provider authorize URL we are sent to."""
    assert client.get(provider.login_url).status_code == 200
    response = client.post(provider.login_url)
    assert response.status_code == 302
    return response["Location"]


def _signed_in_user(client: Client) -> object:
    return client.get(reverse("web:home")).wsgi_request.user


def _session_in_redis(client: Client, redis) -> bool:  # type: ignore[no-untyped-def]
    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    redis_key = session_copy_key(session_key)
    return bool(redis.exists(redis_key))


@by_id
def test_provider_login_url_asks_to_confirm_before_redirecting(client, fake, provider):
    response = client.get(provider.login_url)

    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert all(call.url.endswith("/.well-known/openid-configuration") for call in fake.calls)


@by_id
def test_confirming_redirects_to_the_provider_with_state_and_pkce_where_supported(
    client, fake, provider
):
    authorize_url = _start_login(client, provider)

    assert authorize_url.startswith(f"{provider.authorize_url}?")
    query = _query(authorize_url)
    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert len(query["state"]) >= 16
    assert ("code_challenge" in query) is provider.pkce
    if provider.pkce:
        assert query["code_challenge_method"] == "S256"


@by_id
def test_sign_in_creates_a_user_with_the_provider_email_and_a_redis_session(
    client, fake, redis, provider
):
    email = f"new-{provider.provider_id}@example.com"
    provider.answer_as(fake)(email=email)

    response = client.get(fake.authorize(_start_login(client, provider)))

    assert response.status_code == 302
    assert response["Location"] == reverse(django_settings.LOGIN_REDIRECT_URL)
    user = User.objects.get(email=email)
    assert SocialAccount.objects.filter(user=user, provider=provider.provider_id).exists()
    assert _signed_in_user(client) == user
    assert _session_in_redis(client, redis)
    (token_call,) = fake.called("POST", provider.token_url)
    assert ("code_verifier" in token_call.data) is provider.pkce


@by_id
def test_callback_with_tampered_state_is_refused(client, fake, provider):
    provider.answer_as(fake)(email="mallory@example.com")
    callback = fake.authorize(_start_login(client, provider))

    response = client.get(_with_query(callback, state=_query(callback)["state"] + "x"))

    assert response.status_code == 401
    assert not _signed_in_user(client).is_authenticated  # type: ignore[attr-defined]
    assert not User.objects.filter(email="mallory@example.com").exists()
    assert fake.called("POST", provider.token_url) == []


@by_id
def test_callback_without_state_is_refused(client, fake, provider):
    provider.answer_as(fake)(email="mallory@example.com")
    callback = fake.authorize(_start_login(client, provider))
    code = _query(callback)["code"]

    response = client.get(f"{urlsplit(callback).path}?{urlencode({'code': code})}")

    assert response.status_code == 401
    assert not _signed_in_user(client).is_authenticated  # type: ignore[attr-defined]
    assert fake.called("POST", provider.token_url) == []


@by_id
def test_provider_error_on_callback_shows_a_friendly_page(client, fake, provider):
    response = client.get(fake.deny(_start_login(client, provider)), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("socialaccount_login_cancelled")
    assert not response.wsgi_request.user.is_authenticated
    assert fake.called("POST", provider.token_url) == []


def test_google_verified_email_signs_into_the_existing_account(client, fake):
    existing = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    fake.google(email="ada@example.com", email_verified=True)

    client.get(fake.authorize(_start_login(client, GOOGLE)))

    assert _signed_in_user(client) == existing
    assert User.objects.count() == 1
    assert SocialAccount.objects.filter(user=existing, provider="google").exists()


@pytest.mark.parametrize("provider", [DISCORD, KEYCLOAK], ids=lambda p: p.provider_id)
def test_unverified_provider_email_does_not_sign_into_the_existing_account(client, fake, provider):
    existing = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    if provider is DISCORD:
        fake.discord(email="ada@example.com", verified=False)
    else:
        fake.openid_connect(email="ada@example.com", email_verified=False)

    response = client.get(fake.authorize(_start_login(client, provider)))

    # Not "we sent you an email" (nothing useful was sent): how to get in instead.
    assert response.status_code == 409
    assert "Sign in another way first" in response.content.decode()
    assert reverse("account_login") in response.content.decode()
    assert mail.outbox == []
    assert not _signed_in_user(client).is_authenticated  # type: ignore[attr-defined]
    assert User.objects.count() == 1
    assert not SocialAccount.objects.filter(user=existing).exists()


def _keycloak_from_env(providers_from_env, **variables: str) -> None:  # type: ignore[no-untyped-def]
    providers_from_env(
        OIDC_PROVIDERS="keycloak",
        OIDC_KEYCLOAK_NAME="Keycloak",
        OIDC_KEYCLOAK_SERVER_URL=OIDC_SERVER_URL,
        OIDC_KEYCLOAK_CLIENT_ID=CLIENT_ID,
        OIDC_KEYCLOAK_CLIENT_SECRET=CLIENT_SECRET,
        **variables,
    )


def test_oidc_issuer_verified_email_does_not_sign_into_an_existing_account_by_default(
    client, fake, providers_from_env
):
    existing = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    _keycloak_from_env(providers_from_env)
    fake.openid_connect(email="ada@example.com", email_verified=True)

    response = client.get(fake.authorize(_start_login(client, KEYCLOAK)))

    assert response.status_code == 409
    assert "not allowed to sign into existing accounts" in response.content.decode()
    assert not _signed_in_user(client).is_authenticated  # type: ignore[attr-defined]
    assert not SocialAccount.objects.filter(user=existing).exists()


def test_oidc_issuer_verified_email_signs_into_the_existing_account_when_allowed(
    client, fake, providers_from_env
):
    existing = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    _keycloak_from_env(providers_from_env, OIDC_KEYCLOAK_EMAIL_AUTHENTICATION="true")
    fake.openid_connect(email="ada@example.com", email_verified=True)

    client.get(fake.authorize(_start_login(client, KEYCLOAK)))

    assert _signed_in_user(client) == existing
    assert SocialAccount.objects.filter(user=existing, provider="keycloak").exists()


def test_named_provider_email_authentication_can_be_turned_off(client, fake, providers_from_env):
    existing = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    providers_from_env(
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_EMAIL_AUTHENTICATION="false",
    )
    fake.google(email="ada@example.com", email_verified=True)

    response = client.get(fake.authorize(_start_login(client, GOOGLE)))

    assert response.status_code == 409
    assert not _signed_in_user(client).is_authenticated  # type: ignore[attr-defined]
    assert not SocialAccount.objects.filter(user=existing).exists()


@pytest.mark.parametrize(
    ("provider", "name"),
    [
        (GOOGLE, "Ada Lovelace"),
        (GITHUB, "The Octocat"),
        (DISCORD, "Nelly"),
        (MICROSOFT, "Megan Bowen"),
        (KEYCLOAK, "Grace Hopper"),
    ],
    ids=lambda p: getattr(p, "provider_id", ""),
)
def test_sign_in_stores_the_provider_profile_name_on_the_user(client, fake, provider, name):
    provider.answer_as(fake)(email="new@example.com")

    client.get(fake.authorize(_start_login(client, provider)))

    assert User.objects.get(email="new@example.com").name == name


@by_id
def test_login_page_links_a_provider_only_when_it_is_configured(
    client, configure_providers, provider
):
    configure_providers(provider)
    configured = client.get(reverse("account_login"))
    configure_providers()
    unconfigured = client.get(reverse("account_login"))

    assert provider.login_url in configured.content.decode()
    assert provider.login_url not in unconfigured.content.decode()


def test_fake_refuses_any_url_it_does_not_serve(fake):
    with pytest.raises(UnexpectedRequestError):
        requests.get("https://oauth2.googleapis.com/tokeninfo", timeout=1)

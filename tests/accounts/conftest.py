"""Fixtures for the provider tests: providers configured from environment variables
exactly as production reads them, the browser, and a real OpenID Provider on loopback;
and `fresh_keys` for the token tests."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import environ
import pytest

from apps.accounts import providers
from apps.accounts.tokens import keys
from tests.accounts.oidc_peer import Peer, PeerUnavailableError, running_peer

# The browser fixtures live with the other browser tests.
from tests.web.conftest import (  # noqa: F401
    allow_orm_beside_playwright,
    browser,
    new_visitor,
    screenshot,
)


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    """This process's cached signing keys forgotten around the test: an earlier test's
    keys went with its transaction."""
    keys.forget()
    yield
    keys.forget()


PEER_ID = "peer"
PEER_ACCOUNTS: dict[str, dict[str, Any]] = {
    "ada": {"email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"},
    "grace": {"email": "grace@example.com", "email_verified": False, "name": "Grace Hopper"},
    "katherine": {
        "email": "katherine@example.com",
        "email_verified": True,
        "name": "Katherine Johnson",
    },
}
_PROVIDER_PREFIXES = ("GOOGLE_", "GITHUB_", "DISCORD_", "MICROSOFT_", "OIDC_")


@pytest.fixture
def providers_from_env(settings, monkeypatch) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    """providers_from_env(GOOGLE_CLIENT_ID="...", ...): rebuild SOCIALACCOUNT_PROVIDERS and
    the CSP's form-action from these variables only, as config/settings/base.py does."""

    def configure(**variables: str) -> None:
        for name in list(os.environ):
            if name.startswith(_PROVIDER_PREFIXES):
                monkeypatch.delenv(name)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        old_origins = providers.form_action_origins(settings.SOCIALACCOUNT_PROVIDERS)
        settings.SOCIALACCOUNT_PROVIDERS = providers.socialaccount_providers(environ.Env())
        policy = {**settings.CONTENT_SECURITY_POLICY}
        directives = {**policy["DIRECTIVES"]}
        directives["form-action"] = [
            *(o for o in directives["form-action"] if o not in old_origins),
            *providers.form_action_origins(settings.SOCIALACCOUNT_PROVIDERS),
        ]
        settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}

    return configure


@pytest.fixture(scope="session")
def oidc_peer(live_server) -> Iterator[Peer]:  # type: ignore[no-untyped-def]
    """panva's oidc-provider, knowing the live server's callback URL and PEER_ACCOUNTS."""
    callback = f"{live_server.url}/accounts/oidc/{PEER_ID}/login/callback/"
    try:
        with running_peer(redirect_uris=[callback], accounts=PEER_ACCOUNTS) as peer:
            yield peer
    except PeerUnavailableError as error:
        pytest.skip(f"no OpenID Provider to test against: {error}")


@pytest.fixture
def peer_configured(oidc_peer, providers_from_env) -> Callable[..., Peer]:  # type: ignore[no-untyped-def]
    """peer_configured(email_authentication=True): the peer as OIDC issuer `peer`."""

    def configure(*, email_authentication: bool | None = None) -> Peer:
        variables = {
            "OIDC_PROVIDERS": PEER_ID,
            "OIDC_PEER_NAME": "Peer ID",
            "OIDC_PEER_SERVER_URL": oidc_peer.issuer,
            "OIDC_PEER_CLIENT_ID": oidc_peer.client_id,
            "OIDC_PEER_CLIENT_SECRET": oidc_peer.client_secret,
        }
        if email_authentication is not None:
            variables["OIDC_PEER_EMAIL_AUTHENTICATION"] = str(email_authentication).lower()
        providers_from_env(**variables)
        return oidc_peer  # type: ignore[no-any-return]

    return configure

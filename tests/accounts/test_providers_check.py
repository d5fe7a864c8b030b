"""`manage.py providers_check`: lists each provider with its callback URL, checks it, and
exits non-zero naming what to fix. The OpenID Connect case runs against the real peer."""

import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("providers_check", stdout=out)
    return out.getvalue()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


def test_providers_check_passes_for_the_peer_and_prints_its_callback_url(peer_configured):
    peer_configured()

    output = _run()

    assert "Peer ID ... ok" in output
    assert "http://testserver/accounts/oidc/peer/login/callback/" in output
    assert "All providers are configured." in output


def test_providers_check_lists_each_named_provider_with_its_callback_url(providers_from_env):
    providers_from_env(
        GOOGLE_CLIENT_ID="g",
        GOOGLE_CLIENT_SECRET="s",
        GITHUB_CLIENT_ID="h",
        GITHUB_CLIENT_SECRET="s",
    )

    output = _run()

    assert "http://testserver/accounts/google/login/callback/" in output
    assert "http://testserver/accounts/github/login/callback/" in output


def test_providers_check_fails_naming_a_missing_client_secret(providers_from_env):
    providers_from_env(GOOGLE_CLIENT_ID="g")
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 1 provider"):
        call_command("providers_check", stdout=out)

    assert "GOOGLE_CLIENT_SECRET is not set." in out.getvalue()


def test_providers_check_fails_when_the_discovery_document_is_unreachable(providers_from_env):
    server_url = f"http://127.0.0.1:{_closed_port()}/realms/main"
    providers_from_env(
        OIDC_PROVIDERS="keycloak",
        OIDC_KEYCLOAK_SERVER_URL=server_url,
        OIDC_KEYCLOAK_CLIENT_ID="k",
        OIDC_KEYCLOAK_CLIENT_SECRET="s",
    )
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("providers_check", stdout=out)

    assert "keycloak ... FAILED" in out.getvalue()
    assert f"{server_url}/.well-known/openid-configuration could not be read" in out.getvalue()
    assert "check OIDC_KEYCLOAK_SERVER_URL" in out.getvalue()


def test_providers_check_fails_when_the_authorization_endpoint_is_not_allowed_by_csp(
    peer_configured, providers_from_env, oidc_peer
):
    peer_configured()
    providers_from_env(
        OIDC_PROVIDERS="peer",
        OIDC_PEER_SERVER_URL=oidc_peer.issuer,
        OIDC_PEER_AUTHORIZE_ORIGIN="https://elsewhere.example.test",
        OIDC_PEER_CLIENT_ID=oidc_peer.client_id,
        OIDC_PEER_CLIENT_SECRET=oidc_peer.client_secret,
    )
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("providers_check", stdout=out)

    assert f"set OIDC_PEER_AUTHORIZE_ORIGIN={oidc_peer.issuer}" in out.getvalue()


def test_providers_check_says_when_no_provider_is_configured(providers_from_env):
    providers_from_env()

    assert "No sign-in providers are configured" in _run()

"""Provider configuration from the environment, and the CSP form-action it implies."""

import json

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.accounts import providers
from tests.config.test_settings import _django

STRIPE = ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"]


def _form_action(**variables: str) -> list[str]:
    """form-action as the real settings module builds it, in a fresh interpreter."""
    result = _django(
        "config.settings.test",
        "from django.conf import settings; import json; "
        "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))",
        **variables,
    )
    assert result.returncode == 0, result.stderr
    origins: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return origins


def test_form_action_allows_only_stripe_when_no_provider_is_configured():
    assert _form_action() == STRIPE


def test_form_action_allows_exactly_the_configured_providers_authorization_origins():
    origins = _form_action(
        GOOGLE_CLIENT_ID="g",
        DISCORD_CLIENT_ID="d",
        OIDC_PROVIDERS="keycloak,okta",
        OIDC_KEYCLOAK_SERVER_URL="https://ID.example.test:8443/realms/main",
        OIDC_KEYCLOAK_CLIENT_ID="k",
        OIDC_OKTA_SERVER_URL="https://example.okta.test/oauth2/default",
        OIDC_OKTA_AUTHORIZE_ORIGIN="https://login.okta.test",
        OIDC_OKTA_CLIENT_ID="o",
    )

    assert origins == [
        *STRIPE,
        "https://accounts.google.com",
        "https://discord.com",
        "https://id.example.test:8443",
        "https://login.okta.test",
    ]


def test_each_named_provider_adds_its_fixed_authorization_origin(monkeypatch):
    for named in providers.NAMED_PROVIDERS:
        monkeypatch.setenv(f"{named.prefix}_CLIENT_ID", "id")
    configured = providers.socialaccount_providers(environ.Env())

    assert providers.form_action_origins(configured) == [
        "https://accounts.google.com",
        "https://github.com",
        "https://discord.com",
        "https://login.microsoftonline.com",
    ]


def test_email_authentication_is_on_for_named_providers_and_off_for_issuers(monkeypatch):
    monkeypatch.setenv("GITHUB_CLIENT_ID", "id")
    monkeypatch.setenv("OIDC_PROVIDERS", "keycloak")
    monkeypatch.setenv("OIDC_KEYCLOAK_SERVER_URL", "https://id.example.test/realms/main")
    monkeypatch.setenv("OIDC_KEYCLOAK_CLIENT_ID", "id")
    configured = providers.socialaccount_providers(environ.Env())

    assert configured["github"]["APPS"][0]["settings"]["email_authentication"] is True
    assert configured["openid_connect"]["APPS"][0]["settings"]["email_authentication"] is False


@pytest.mark.parametrize("variable", ["OIDC_KEYCLOAK_SERVER_URL", "OIDC_KEYCLOAK_AUTHORIZE_ORIGIN"])
def test_an_issuer_url_that_is_not_http_fails_naming_the_variables(monkeypatch, variable):
    monkeypatch.setenv("OIDC_PROVIDERS", "keycloak")
    monkeypatch.setenv("OIDC_KEYCLOAK_SERVER_URL", "https://id.example.test/realms/main")
    monkeypatch.setenv("OIDC_KEYCLOAK_CLIENT_ID", "id")
    monkeypatch.setenv(variable, "id.example.test/realms/main")

    with pytest.raises(ImproperlyConfigured, match="OIDC_KEYCLOAK_AUTHORIZE_ORIGIN"):
        providers.oidc_apps(environ.Env())

"""Sign-in providers from the environment: allauth's apps, and the origins CSP must allow.

Imported by `config/settings/base.py`, so it reads only the environment and imports
nothing from Django's app registry. A provider with no client id has no app (no button).

form-action has to allow each provider's authorization origin: Chromium applies it to the
redirect that answers the provider button's POST. The four named providers authorize on
fixed hosts. An OpenID Connect issuer authorizes at its discovery document's
`authorization_endpoint`; reading that at start-up would tie booting to the issuer being
up, so the origin of `OIDC_<ID>_SERVER_URL` is assumed (true of Keycloak, Okta, Auth0,
Authentik, Zitadel, node-oidc-provider...) unless `OIDC_<ID>_AUTHORIZE_ORIGIN` says
otherwise; `manage.py providers_check` compares it with the live discovery document.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class NamedProvider:
    """One of the providers with their own allauth module and a fixed authorize host."""

    key: str  # allauth's provider id and SOCIALACCOUNT_PROVIDERS key
    prefix: str  # environment variable prefix
    authorize_origin: str


NAMED_PROVIDERS = (
    NamedProvider("google", "GOOGLE", "https://accounts.google.com"),
    NamedProvider("github", "GITHUB", "https://github.com"),
    NamedProvider("discord", "DISCORD", "https://discord.com"),
    NamedProvider("microsoft", "MICROSOFT", "https://login.microsoftonline.com"),
)
OIDC_KEY = "openid_connect"


def origin(url: str) -> str:
    """`https://id.example.com:8443/realms/x` -> `https://id.example.com:8443`."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def oidc_prefix(provider_id: str) -> str:
    """The variable prefix of an issuer: `my-idp` -> `OIDC_MY_IDP`."""
    return f"OIDC_{provider_id.upper().replace('-', '_')}"


def oauth_app(
    env: environ.Env, prefix: str, *, email_authentication: bool, **settings: object
) -> list[dict[str, Any]]:
    """One provider app from `<PREFIX>_CLIENT_ID` / `_CLIENT_SECRET`, or none when unset.

    `<PREFIX>_EMAIL_AUTHENTICATION` decides whether a provider-verified email that matches
    an existing account signs into it (allauth reads `email_authentication` per app).
    """
    client_id = env.str(f"{prefix}_CLIENT_ID", default="")
    if not client_id:
        return []
    app_settings = {
        **settings,
        "email_authentication": env.bool(
            f"{prefix}_EMAIL_AUTHENTICATION", default=email_authentication
        ),
    }
    secret = env.str(f"{prefix}_CLIENT_SECRET", default="")
    return [{"client_id": client_id, "secret": secret, "settings": app_settings}]


def oidc_apps(env: environ.Env) -> list[dict[str, Any]]:
    """Generic OpenID Connect issuers: OIDC_PROVIDERS=keycloak,okta then OIDC_<ID>_* each.

    Email authentication is off by default for these: any issuer we configure could
    otherwise assert `email_verified` for anyone's address and sign into their account.
    """
    apps = []
    for provider_id in env.list("OIDC_PROVIDERS", default=[]):
        prefix = oidc_prefix(provider_id)
        server_url = env.str(f"{prefix}_SERVER_URL")
        authorize_origin = env.str(f"{prefix}_AUTHORIZE_ORIGIN", default="") or server_url
        try:
            authorize_origin = origin(authorize_origin)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{prefix}_SERVER_URL / {prefix}_AUTHORIZE_ORIGIN: {error}"
            ) from error
        for app in oauth_app(
            env,
            prefix,
            email_authentication=False,
            server_url=server_url,
            authorize_origin=authorize_origin,
        ):
            app.update(provider_id=provider_id, name=env.str(f"{prefix}_NAME", default=provider_id))
            apps.append(app)
    return apps


def _named_apps(env: environ.Env, key: str, **settings: object) -> list[dict[str, Any]]:
    # These providers only report an address as verified when they verified it.
    prefix = next(p.prefix for p in NAMED_PROVIDERS if p.key == key)
    return oauth_app(env, prefix, email_authentication=True, **settings)


def socialaccount_providers(env: environ.Env) -> dict[str, dict[str, Any]]:
    """allauth's SOCIALACCOUNT_PROVIDERS: scopes, PKCE wherever supported, and the apps."""
    return {
        "google": {
            "APPS": _named_apps(env, "google"),
            "SCOPE": ["openid", "profile", "email"],
            "OAUTH_PKCE_ENABLED": True,
        },
        "github": {
            "APPS": _named_apps(env, "github"),
            "SCOPE": ["read:user", "user:email"],
            "OAUTH_PKCE_ENABLED": True,
        },
        "discord": {"APPS": _named_apps(env, "discord"), "SCOPE": ["identify", "email"]},
        "microsoft": {
            "APPS": _named_apps(
                env, "microsoft", tenant=env.str("MICROSOFT_TENANT", default="common")
            ),
            "OAUTH_PKCE_ENABLED": True,
        },
        OIDC_KEY: {"APPS": oidc_apps(env), "OAUTH_PKCE_ENABLED": True},
    }


def form_action_origins(providers: dict[str, dict[str, Any]]) -> list[str]:
    """The authorization origins of the providers that have an app, each once, in order."""
    origins: list[str] = []
    for named in NAMED_PROVIDERS:
        if providers.get(named.key, {}).get("APPS"):
            origins.append(named.authorize_origin)
    for app in providers.get(OIDC_KEY, {}).get("APPS", []):
        app_settings = app.get("settings", {})
        origins.append(
            app_settings.get("authorize_origin") or origin(str(app_settings["server_url"]))
        )
    return list(dict.fromkeys(origins))

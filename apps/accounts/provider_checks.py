"""What `manage.py providers_check` reports: each configured sign-in provider, the callback
URL to register with it, and what is wrong with its configuration."""

from dataclasses import dataclass
from typing import Any

import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from django.urls import reverse

from . import providers

DISCOVERY_TIMEOUT = 5.0  # seconds; an issuer slower than this would fail sign-ins too
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class ProviderReport:
    provider_id: str  # the URL slug: google, github, ..., or an issuer's id
    name: str
    callback_url: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def provider_apps() -> list[SocialApp]:
    """Every configured provider app (from settings, and SocialApp rows if any)."""
    apps: list[SocialApp] = get_adapter().list_apps(None)
    return apps


def provider_report(*, app: SocialApp, site_url: str) -> ProviderReport:
    """Check one app: client id and secret present; an issuer's discovery document."""
    is_oidc = app.provider == providers.OIDC_KEY
    provider_id = app.provider_id if is_oidc else app.provider
    prefix = _prefix(app)
    if is_oidc:
        path = reverse("openid_connect_callback", kwargs={"provider_id": provider_id})
    else:
        path = reverse(f"{app.provider}_callback")
    problems = [
        f"{prefix}{suffix} is not set."
        for suffix, value in (("_CLIENT_ID", app.client_id), ("_CLIENT_SECRET", app.secret))
        if not value
    ]
    if is_oidc:
        problems += _discovery_problems(app.settings, prefix)
    return ProviderReport(
        provider_id=provider_id,
        name=app.name or provider_id,
        callback_url=site_url.rstrip("/") + path,
        problems=tuple(problems),
    )


def _prefix(app: SocialApp) -> str:
    if app.provider == providers.OIDC_KEY:
        return providers.oidc_prefix(app.provider_id)
    return next(
        (p.prefix for p in providers.NAMED_PROVIDERS if p.key == app.provider),
        app.provider.upper(),
    )


def _discovery_problems(app_settings: dict[str, Any], prefix: str) -> list[str]:
    server_url = str(app_settings.get("server_url") or "")
    if not server_url:
        return [f"{prefix}_SERVER_URL is not set."]
    url = server_url if "/.well-known/" in server_url else server_url.rstrip("/")
    if "/.well-known/" not in url:
        url += "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        return [f"discovery document {url} could not be read ({error}); check {prefix}_SERVER_URL."]
    if not isinstance(document, dict):
        return [f"discovery document {url} is not a JSON object; check {prefix}_SERVER_URL."]
    missing = [key for key in REQUIRED_ENDPOINTS if not document.get(key)]
    if missing:
        return [f"discovery document {url} names no {', '.join(missing)}."]
    allowed = app_settings.get("authorize_origin") or providers.origin(server_url)
    actual = providers.origin(str(document["authorization_endpoint"]))
    if actual != allowed:
        return [
            f"the authorization endpoint is on {actual}, which the CSP does not allow "
            f"(it allows {allowed}): set {prefix}_AUTHORIZE_ORIGIN={actual}."
        ]
    return []

"""allauth headless as an app client drives it: JSON in, tokens out."""

from typing import Any

from django.test import Client

APP = "/_allauth/app/v1"


def sign_in(client: Client, *, email: str, password: str) -> dict[str, Any]:
    """POST the app client's login; returns allauth's `meta` (access and refresh token)."""
    response = client.post(
        f"{APP}/auth/login",
        {"email": email, "password": password},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    meta: dict[str, Any] = response.json()["meta"]
    return meta


def refresh(client: Client, refresh_token: str) -> Any:
    return client.post(
        f"{APP}/tokens/refresh", {"refresh_token": refresh_token}, content_type="application/json"
    )


def sign_out(client: Client, access_token: str) -> Any:
    return client.delete(f"{APP}/auth/session", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def me(client: Client, access_token: str) -> Any:
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {access_token}")

"""Fixtures for other services: a registered service, its HTTP client, a member's session."""

import base64
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.services import services
from apps.services.services import IssuedSecret


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def issued(db) -> IssuedSecret:  # type: ignore[no-untyped-def]
    """A service allowed to revoke, with its secret as the admin saw it once."""
    return services.service_create(name="Forum", may_revoke=True)


Call = Callable[..., Any]


def _poster(url_name: str, issued: IssuedSecret) -> Call:
    caller = Client()  # another program: no cookies, no CSRF token

    def post(token: str | None = None, *, auth: str | None = None, **fields: Any) -> Any:
        data = {**({"token": token} if token is not None else {}), **fields}
        header = basic(issued.service.client_id, issued.secret) if auth is None else auth
        return caller.post(reverse(url_name), data, HTTP_AUTHORIZATION=header)

    return post


@pytest.fixture
def introspect(issued) -> Call:  # type: ignore[no-untyped-def]
    """introspect(token, auth=..., **fields) -> the response of POST /oauth/introspect."""
    return _poster("services:introspect", issued)


@pytest.fixture
def revoke(issued) -> Call:  # type: ignore[no-untyped-def]
    return _poster("services:revoke", issued)


@pytest.fixture
def sign_in(user, password) -> Callable[[], Client]:  # type: ignore[no-untyped-def]
    """sign_in() -> a new browser of the member's, signed in through allauth's login view
    (so the session is on the sessions list, as every real one is)."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    def make() -> Client:
        client = Client()
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": password}
        )
        assert response.status_code == 302, response.content
        return client

    return make


@pytest.fixture
def browser(sign_in) -> Client:  # type: ignore[no-untyped-def]
    """The member, signed in in a browser."""
    return sign_in()


def session_id(browser: Client) -> str:
    return browser.cookies[settings.SESSION_COOKIE_NAME].value

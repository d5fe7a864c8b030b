"""Security headers with production settings, a CSP that inline code could not pass
(and pages that need none), and the admin at a configurable path."""

import importlib
import re

import pytest
from django.contrib import admin
from django.test import override_settings
from django.urls import clear_url_caches, reverse

import config.urls
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

# An inline <script> with code (not one loaded by src=, nor a JSON data block, which
# browsers never execute and CSP does not govern).
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>(.*?)</script>", re.S | re.I
)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.I)


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("name", ["web:home", "web:pricing", "account_login"])
def test_production_responses_carry_every_security_header(production, client, catalog, name):
    response = client.get(reverse(name), secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == (
        f"max-age={production.SECURE_HSTS_SECONDS}; includeSubDomains; preload"
    )
    assert production.SECURE_HSTS_SECONDS >= 60 * 60 * 24 * 365
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = csp_directives(response["Content-Security-Policy"])
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive], directive
        assert "'unsafe-eval'" not in csp[directive], directive
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]


def test_production_redirects_plain_http_but_not_health_checks(production, client):
    assert production.DEBUG is False  # even with DEBUG=true in the environment
    assert client.get(reverse("web:home")).status_code == 301
    assert client.get("/healthz").status_code == 200
    forwarded = client.get(reverse("web:home"), headers={"X-Forwarded-Proto": "https"})
    assert forwarded.status_code == 200


def test_no_page_needs_inline_script_or_style(client, user, subscribe, catalog):
    pages = {
        f"anon {name}": client.get(reverse(name))
        for name in ("web:home", "web:pricing", "account_login", "account_signup")
    }
    subscribe("pro_monthly")
    client.force_login(user)
    for name in ("web:home", "web:pricing", "web:dashboard", "web:reports"):
        pages[name] = client.get(reverse(name))

    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        code = [body for body in INLINE_SCRIPT.findall(html) if body.strip()]
        assert code == [], (name, code)
        assert not INLINE_STYLE.search(html), (name, INLINE_STYLE.search(html))
        assert not INLINE_HANDLER.search(html), (name, INLINE_HANDLER.search(html))
        assert not JAVASCRIPT_URL.search(html), name


@pytest.fixture
def admin_url():  # type: ignore[no-untyped-def]
    """admin_url("path/") -> the URLconf rebuilt with ADMIN_URL at that path (restored)."""
    original_login = admin.site.login
    overrides = []

    def move(path: str) -> None:
        override = override_settings(ADMIN_URL=path)
        override.enable()
        overrides.append(override)
        clear_url_caches()
        importlib.reload(config.urls)

    yield move
    for override in overrides:
        override.disable()
    clear_url_caches()
    importlib.reload(config.urls)
    admin.site.login = original_login  # the reload wrapped it again


def test_admin_is_served_at_the_configured_path_only(client, admin_url, password):
    admin_url("staff-only-7f3a/")
    staff = UserFactory(password=password, is_staff=True, is_superuser=True)
    client.force_login(staff)

    assert reverse("admin:index") == "/staff-only-7f3a/"
    assert client.get("/staff-only-7f3a/").status_code == 200
    assert client.get("/admin/").status_code == 404

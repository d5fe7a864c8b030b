"""Provider sign-in in headless Chromium: every provider button's redirect passes the CSP,
and a real OpenID Provider (panva's oidc-provider, tests/accounts/oidc_peer/) signs people
in end to end: its login and consent pages, its token and userinfo endpoints, over HTTP."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CSP_VIOLATION = re.compile("Content Security Policy", re.IGNORECASE)


def csp_violations(page: Page) -> list[str]:
    """Console messages of CSP violations on this page from now on (Chromium logs each)."""
    seen: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if CSP_VIOLATION.search(message.text):
            seen.append(message.text)

    page.on("console", keep)
    return seen


def press_provider_button(page: Page, name: str) -> None:
    """From the sign-in page: the provider's button, then "Continue" (the POST that starts
    the flow and is answered with the redirect form-action must allow)."""
    page.goto("/accounts/login/")
    page.get_by_role("link", name=name).click()
    page.get_by_role("button", name="Continue").click()


def sign_in_at_peer(page: Page, login: str) -> None:
    """oidc-provider's development login page (any password), then its consent page."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def session_user(page: Page) -> dict[str, object] | None:
    response = page.request.get("/api/session")
    if response.status == 401:
        return None
    assert response.ok, response.text()
    user: dict[str, object] = response.json()["user"]
    return user


NAMED = [
    ("google", "Google", "https://accounts.google.com"),
    ("github", "GitHub", "https://github.com"),
    ("discord", "Discord", "https://discord.com"),
    ("microsoft", "Microsoft", "https://login.microsoftonline.com"),
]


@pytest.mark.parametrize(("key", "name", "authorize_origin"), NAMED, ids=[n[0] for n in NAMED])
def test_provider_button_redirect_to_its_authorize_url_is_not_blocked_by_csp(
    new_visitor, providers_from_env, key, name, authorize_origin
):
    providers_from_env(**{f"{key.upper()}_CLIENT_ID": "id", f"{key.upper()}_CLIENT_SECRET": "s"})
    page = new_visitor()
    reached: list[str] = []

    def canned_authorize_page(route: Route) -> None:
        reached.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="text/html",
            body=f"<!doctype html><title>{name}</title><h1>Canned {name} sign-in</h1>",
        )

    page.route(f"{authorize_origin}/**", canned_authorize_page)
    violations = csp_violations(page)

    press_provider_button(page, name)

    expect(page.get_by_role("heading", name=f"Canned {name} sign-in")).to_be_visible()
    assert reached
    assert reached[0].startswith(f"{authorize_origin}/")
    assert violations == []


def test_peer_sign_in_creates_a_member_with_the_provider_profile_name(
    new_visitor, peer_configured, screenshot
):
    peer_configured()
    page = new_visitor()
    violations = csp_violations(page)

    press_provider_button(page, "Peer ID")
    screenshot(page, "peer-login")
    sign_in_at_peer(page, "katherine")

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    user = User.objects.get(email="katherine@example.com")
    assert user.name == "Katherine Johnson"
    assert session_user(page) == {"id": user.pk, "email": user.email, "name": "Katherine Johnson"}
    assert SocialAccount.objects.filter(user=user, provider="peer").exists()
    assert violations == []


def test_peer_verified_email_signs_into_the_matching_account_when_trusted(
    new_visitor, peer_configured
):
    existing = UserFactory(email="ada@example.com", password="a long passphrase")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    peer_configured(email_authentication=True)
    page = new_visitor()

    press_provider_button(page, "Peer ID")
    sign_in_at_peer(page, "ada")

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert session_user(page) == {
        "id": existing.pk,
        "email": "ada@example.com",
        "name": existing.name,
    }
    assert User.objects.count() == 1
    assert SocialAccount.objects.filter(user=existing, provider="peer").exists()


def test_peer_verified_email_does_not_sign_into_the_matching_account_by_default(
    new_visitor, peer_configured
):
    existing = UserFactory(email="ada@example.com", password="a long passphrase")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    peer_configured()
    page = new_visitor()

    press_provider_button(page, "Peer ID")
    sign_in_at_peer(page, "ada")

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in another way first")
    expect(page.get_by_text("Peer ID is not allowed to sign into existing")).to_be_visible()
    assert session_user(page) is None
    assert not SocialAccount.objects.filter(user=existing).exists()


def test_peer_unverified_email_of_an_account_explains_how_to_sign_in_instead(
    new_visitor, peer_configured, screenshot
):
    existing = UserFactory(email="grace@example.com", password="a long passphrase")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    peer_configured(email_authentication=True)  # even a trusted issuer: unverified never signs in
    page = new_visitor()

    press_provider_button(page, "Peer ID")
    sign_in_at_peer(page, "grace")

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in another way first")
    expect(page.get_by_text("Peer ID has not confirmed that this address is yours")).to_be_visible()
    expect(page.get_by_text("No email has been sent")).to_be_visible()
    screenshot(page, "peer-email-in-use")
    assert session_user(page) is None
    assert mail.outbox == []
    assert User.objects.count() == 1

    page.get_by_role("link", name="Sign in with email").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill("a long passphrase")
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Account Connections")
    assert session_user(page) == {
        "id": existing.pk,
        "email": "grace@example.com",
        "name": existing.name,
    }

"""Browser fixtures: headless Debian Chromium, a fresh context per visitor, screenshots
under tests/artifacts/. Playwright never downloads a browser here."""

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.billing.fake_stripe import FakeStripe

from .stripe_standins import HostedStripe, SignedWebhooks

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# The machine running the tests may be slow and shared: expectations wait longer than
# Playwright's 5 s default before failing (they pass as soon as the page is right).
expect.set_options(timeout=15_000)


@pytest.fixture
def allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop on the test's thread, which makes Django
    refuse ORM calls there; the test is still plain synchronous code, so opt out while
    the browser is up (hence a browser per test, not per session)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(live_server, allow_orm_beside_playwright) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
        # ORM calls made while Playwright's loop ran used connections of their own
        # (asgiref keys them by context); close them, or the test database can't be dropped.
        connections.close_all()


@pytest.fixture
def new_visitor(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:  # type: ignore[no-untyped-def]
    """new_visitor(user_agent=..., width=...) -> a page in its own context (own cookies)."""
    contexts: list[BrowserContext] = []

    def open_page(*, user_agent: str | None = None, width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            user_agent=user_agent,
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """screenshot(page, "pricing") -> tests/artifacts/pricing.png (full page)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, name: str) -> None:
        slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
        page.screenshot(path=ARTIFACTS / f"{slug}.png", full_page=True)

    return take


@pytest.fixture
def github_and_keycloak(settings):  # type: ignore[no-untyped-def]
    """GitHub and a generic OpenID Connect issuer configured; no other provider."""
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    for provider in providers.values():
        provider["APPS"] = []
    providers["github"]["APPS"] = [{"client_id": "gh-id", "secret": "gh-secret"}]
    providers["openid_connect"]["APPS"] = [
        {
            "provider_id": "keycloak",
            "name": "Keycloak",
            "client_id": "kc-id",
            "secret": "kc-secret",
            "settings": {"server_url": "https://id.example.test/realms/x"},
        }
    ]
    settings.SOCIALACCOUNT_PROVIDERS = providers


@pytest.fixture
def signed_webhooks(fake_stripe: FakeStripe, live_server, webhook_url: str) -> SignedWebhooks:  # type: ignore[no-untyped-def]
    """signed_webhooks.send("invoice.paid", obj): signed as Stripe signs, POSTed over HTTP."""
    return SignedWebhooks(
        fake=fake_stripe, url=live_server.url + webhook_url, secret=settings.STRIPE_WEBHOOK_SECRET
    )


@pytest.fixture
def hosted_stripe(
    fake_stripe: FakeStripe, signed_webhooks: SignedWebhooks
) -> Iterator[HostedStripe]:
    """Checkout and Portal stand-ins; `hosted_stripe.install(page.context)` per visitor."""
    hosted = HostedStripe(fake=fake_stripe, webhooks=signed_webhooks)
    yield hosted
    assert not hosted.errors, "\n".join(hosted.errors)
    assert not hosted.csp_violations, hosted.csp_violations

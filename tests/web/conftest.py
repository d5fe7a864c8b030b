"""Browser fixtures: headless Debian Chromium, a fresh context per visitor, screenshots
under tests/artifacts/. Playwright never downloads a browser here."""

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

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

"""Steps a member takes in the browser, shared by the flow tests. Every check is one of
Playwright's auto-waiting expectations: nothing sleeps, so a slow machine only waits."""

import re
from typing import cast

from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

PASSWORD = "a long and unguessable passphrase"


def verified_user(email: str, **fields: object) -> User:
    """A user who can sign in: allauth requires a verified email (the admin too)."""
    user = cast(User, UserFactory(email=email, password=PASSWORD, **fields))
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def sign_in(page: Page, email: str, *, path: str = "/accounts/login/") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()


def sign_in_member(page: Page, email: str) -> None:
    sign_in(page, email)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def expect_signed_out(page: Page) -> None:
    """The page asked for sign-in instead of showing the member's page."""
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def expect_reports_open(page: Page) -> None:
    page.goto("/reports/")
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")


def expect_reports_denied(page: Page) -> None:
    page.goto("/reports/")
    expect(page).to_have_url(re.compile(r"/pricing/\?"))
    expect(page.get_by_role("status")).to_contain_text("needs a plan that includes Reports")

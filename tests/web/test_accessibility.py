"""axe-core over every page, signed out and signed in, in headless Chromium.

Rules: WCAG 2.0/2.1 A and AA, plus axe's best-practice rules (landmarks, one h1, list
and ARIA-role hygiene), which catch what screen-reader users trip over even where WCAG
is silent. Any violation fails.

One test per kind of visitor, one subtest per page: a failure reads
`test_...[member] [page='sessions']` and its message names each rule and element. (A test
per page would pay a browser, a sign-in and a database flush each time: minutes on CI.)
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.accounts import user_agents as ua
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db(transaction=True)

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
PHONE = 390
# Stands for the signed-in member's password in a Visit's `fill` (fixtures give the value).
THEIR_PASSWORD = "<their password>"


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    width: int = 1280
    then: str = ""  # where the visit must end up, when the path redirects
    fill: tuple[tuple[str, str], ...] = ()  # (label, value) pairs, then `submit` is pressed
    submit: str = ""
    status: int = 200  # of the page `path` leads to


PAGES: dict[str, list[Visit]] = {
    "visitor": [
        Visit("home", "/"),
        Visit("pricing-monthly", "/pricing/"),
        Visit("pricing-yearly", "/pricing/?interval=year"),
        Visit("pricing-phone", "/pricing/", width=PHONE),
        Visit("login", "/accounts/login/"),
        Visit(
            "login-failed",
            "/accounts/login/",
            fill=(("Email", "nobody@example.com"), ("Password", "not the password")),
            submit="Sign In",
        ),
        Visit("signup", "/accounts/signup/"),
        Visit("password-reset", "/accounts/password/reset/"),
        Visit("password-reset-done", "/accounts/password/reset/done/"),
        Visit("verify-email-sent", "/accounts/confirm-email/"),
        Visit("404", "/no-such-page/", status=404),
        Visit("403", "/forbidden/", status=403),
        # Rendered without the request (so the same for every visitor): seen once.
        Visit("500", "/server-error/", status=500),
        Visit("503", "/service-unavailable/", status=503),
    ],
    "member": [
        Visit("home", "/"),
        Visit("pricing", "/pricing/"),
        Visit("pricing-subscription-required", "/reports/", then="/pricing/"),
        Visit("dashboard", "/dashboard/"),
        Visit("dashboard-phone", "/dashboard/", width=PHONE),
        Visit("billing-empty", "/account/billing/"),
        Visit("email", "/accounts/email/"),
        Visit("password-change", "/accounts/password/change/"),
        Visit("connections", "/accounts/3rdparty/"),
        Visit("two-factor", "/accounts/2fa/"),
        # allauth asks for the password again before an authenticator can be added: the
        # first visit sees that form, the second completes it and lands on activation.
        Visit("reauthenticate", "/accounts/2fa/totp/activate/", then="/accounts/reauthenticate/"),
        Visit(
            "totp-activate",
            "/accounts/2fa/totp/activate/",
            fill=(("Password", THEIR_PASSWORD),),
            submit="Confirm",
        ),
        Visit(
            "totp-activate-wrong-code",
            "/accounts/2fa/totp/activate/",
            fill=(("Authenticator code", "000000"),),
            submit="Activate",
        ),
        Visit("sessions", "/accounts/sessions/"),
        Visit("sessions-phone", "/accounts/sessions/", width=PHONE),
        Visit("404", "/no-such-page/", status=404),
        Visit("403", "/forbidden/", status=403),
    ],
    "pro": [
        Visit("dashboard", "/dashboard/"),
        Visit("pricing", "/pricing/"),
        Visit("billing-with-invoices", "/account/billing/"),
        Visit("reports", "/reports/"),
        Visit("team-denied", "/team/", then="/pricing/"),
    ],
    "team": [
        Visit("team", "/team/"),
        Visit("dashboard", "/dashboard/"),
    ],
}


def violations_report(violations: list[dict[str, Any]]) -> str:
    """One line per rule and element: `rule (impact): what; at <selector>: <html>`."""
    return "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']}; "
        f"at {', '.join(map(str, node['target']))}: {node['html'][:160]}"
        for violation in violations
        for node in violation["nodes"]
    )


def sign_in(page: Page, *, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def signed_in_as(
    request: pytest.FixtureRequest, user: Any, password: str
) -> Callable[[Page, str], None]:
    """signed_in_as(page, "pro") -> the user, subscribed as named, is signed in on the page.

    "pro" also has a paid invoice, so the billing page shows its table."""

    def sign_in_as(page: Page, who: str) -> None:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        if who == "pro":
            sub = request.getfixturevalue("subscribe")("pro_monthly")
            invoice = build.invoice(
                request.getfixturevalue("fake_stripe"),
                subscription_id=sub["id"],
                status="paid",
                number="TG-0042",
                hosted_invoice_url="https://invoice.stripe.test/i/tg42",
                invoice_pdf="https://pay.stripe.test/invoice/tg42/pdf",
            )
            assert request.getfixturevalue("send_event")("invoice.paid", invoice).status_code == 200
        elif who == "team":
            request.getfixturevalue("subscribe")("team_monthly")
        sign_in(page, email=user.email, password=password)

    return sign_in_as


@pytest.fixture
def error_routes(settings: Any) -> None:
    """/forbidden/, /server-error/ and /service-unavailable/ fail as production does
    (tests/web/urls.py), so the 403, 500 and 503 pages can be looked at."""
    settings.ROOT_URLCONF = "tests.web.urls"


@pytest.mark.parametrize("who", PAGES)
def test_pages_have_no_accessibility_violations(
    who,
    subtests,
    new_visitor,
    screenshot,
    signed_in_as,
    catalog,
    github_and_keycloak,
    error_routes,
    password,
):
    page = new_visitor()
    if who != "visitor":
        signed_in_as(page, who)
    axe = Axe()

    for visit in PAGES[who]:
        with subtests.test(page=visit.name):
            page.set_viewport_size({"width": visit.width, "height": 900})
            response = page.goto(visit.path)
            assert response is not None
            assert response.status == visit.status
            for label, value in visit.fill:
                value = password if value == THEIR_PASSWORD else value
                page.get_by_label(label, exact=True).fill(value)
            if visit.submit:
                page.get_by_role("button", name=visit.submit, exact=True).click()
                page.wait_for_load_state()
            assert page.url.split("?")[0].endswith(visit.then or visit.path.split("?")[0])
            expect(page.locator("main h1")).to_be_visible()
            screenshot(page, f"a11y-{who}-{visit.name}")
            violations = axe.run(page, options=AXE_OPTIONS).response["violations"]
            assert not violations, f"{who} on {visit.path}:\n{violations_report(violations)}"


def test_sessions_page_keeps_each_sign_out_on_one_line_and_in_view(
    new_visitor, screenshot, user, password
):
    """At 320 px (WCAG 1.4.10 reflow), a 390 px phone and a desktop: no sideways scrolling,
    and each "Sign out" reads on one line."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    sign_in(new_visitor(user_agent=ua.CHROME_LINUX), email=user.email, password=password)
    page = new_visitor(user_agent=ua.SAFARI_IPHONE)
    sign_in(page, email=user.email, password=password)

    for width in (320, PHONE, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        page.goto("/accounts/sessions/")
        screenshot(page, f"sessions-{width}")
        buttons = page.locator("table.sessions button")
        expect(buttons).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for button in buttons.all():
            box = button.bounding_box()
            line = float(button.evaluate("b => getComputedStyle(b).lineHeight")[:-2])
            assert box is not None
            assert box["height"] < 1.5 * line, (width, button.inner_text())
            assert box["x"] + box["width"] <= width, (width, button.inner_text())


def test_totp_secret_can_be_reached_and_selected_from_the_keyboard(new_visitor, user, password):
    """The activation page says to store the secret: someone who cannot scan the QR code
    (or uses no mouse) must be able to Tab to it and select it, so it is not disabled."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    page = new_visitor()
    sign_in(page, email=user.email, password=password)
    page.goto("/accounts/2fa/totp/activate/")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")

    secret = page.get_by_label("Authenticator secret")
    page.get_by_label("Authenticator code").focus()
    page.keyboard.press("Shift+Tab")
    expect(secret).to_be_focused()
    expect(secret).to_have_attribute("readonly", "")
    page.keyboard.press("Control+A")
    selected = secret.evaluate("el => el.value.slice(el.selectionStart, el.selectionEnd)")
    assert len(selected) >= 16
    assert selected == secret.input_value()

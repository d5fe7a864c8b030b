"""No secret in an error page or a log line: the webhook signing secret, the Stripe API
key and session keys stay out of responses and logs, even at DEBUG."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.web import views
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def logs(caplog):  # type: ignore[no-untyped-def]
    """Everything logged, at DEBUG, including loggers settings quiet down (stripe)."""
    caplog.set_level(logging.DEBUG)
    for name in ("stripe", "djstripe", "django", "django.request", "tollgate"):
        caplog.set_level(logging.DEBUG, logger=name)

    def text() -> str:
        lines = [caplog.text]
        lines += [f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
        return "\n".join(lines)

    return text


def secrets(*extra: str) -> list[str]:
    values = [settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_TEST_SECRET_KEY, *extra]
    assert all(values)
    return values


def assert_nowhere(secret_values: list[str], *outputs: str) -> None:
    for value in secret_values:
        for output in outputs:
            assert value not in output


def test_webhook_handler_error_leaks_no_secret(webhook_url, subscribe, fake_stripe, logs):
    sub = subscribe("pro_monthly")
    event = build.event(fake_stripe, "customer.subscription.updated", sub)
    fake_stripe.fail_status = 500  # the handler's re-fetch from Stripe fails

    response = build.post_webhook(
        Client(raise_request_exception=False),
        webhook_url,
        event,
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )

    assert response.status_code >= 500
    assert "fake Stripe" in logs()  # the failure itself was logged...
    assert_nowhere(secrets(), response.content.decode(), logs())  # ...without a secret
    assert b"Traceback" not in response.content


def test_server_error_page_and_logs_leak_no_secret_or_session_key(user, monkeypatch, logs):
    def broken(self, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("dashboard exploded")

    monkeypatch.setattr(views.DashboardView, "get_context_data", broken)
    browser = Client(raise_request_exception=False)
    browser.get(reverse("account_login"))  # sets the CSRF cookie
    browser.force_login(user)
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    csrf_token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    response = browser.get(reverse("web:dashboard"))

    assert response.status_code == 500
    body = response.content.decode()
    assert "dashboard exploded" not in body
    assert "Traceback" not in body
    assert "dashboard exploded" in logs()  # logged for us, with its traceback
    assert_nowhere(secrets(session_key, csrf_token), body, logs())


def test_request_log_line_holds_no_cookie_value(user, logs, caplog):
    browser = Client()
    browser.get(reverse("account_login"))  # sets the CSRF cookie
    browser.force_login(user)
    cookies = [morsel.value for morsel in browser.cookies.values()]
    caplog.clear()

    browser.get(reverse("web:dashboard"), headers={"X-Request-ID": "lb-0123456789abcdef"})

    [line] = [r.getMessage() for r in caplog.records if r.name == "tollgate.request"]
    assert "path=/dashboard/ status=200" in line
    assert len(cookies) == 2
    assert_nowhere(cookies, line)

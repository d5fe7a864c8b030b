"""No secret in an error page or a log line: the webhook signing secret, the Stripe API
key and session keys stay out of responses and logs, even at DEBUG."""

import logging
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
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


# --- Keys in URLs ------------------------------------------------------------------

RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/key/([0-9a-z]+)-(\S+)/)")
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/([-:\w]+)/)")


def _reset_link(member: Any) -> tuple[str, list[str]]:
    Client().post(reverse("account_reset_password"), {"email": member.email})
    found = RESET_LINK.search(mail.outbox[-1].body)
    assert found is not None
    path, uid, key = found.groups()
    return path, [key, f"{uid}-{key}"]


def _confirmation_link() -> tuple[str, list[str]]:
    new_password = "a long and uncommon passphrase 7"
    Client().post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": new_password, "password2": new_password},
    )
    found = CONFIRM_LINK.search(mail.outbox[-1].body)
    assert found is not None
    path, key = found.groups()
    return path, [key]


def _webhook(webhook_url: str) -> tuple[str, list[str]]:
    return webhook_url, [webhook_url.strip("/").rsplit("/", 1)[-1]]


# Every URL in this site that carries a key in its path (allauth's account, socialaccount,
# mfa and usersessions URLs were read for them; login and reset by code carry their codes
# in POST bodies, which are never logged), and how each is opened.
KEY_URLS = {
    "password reset key, opened": ("reset", "get", ""),
    "password reset key, new password posted": ("reset", "post", ""),
    "email confirmation key, opened": ("confirm", "get", ""),
    "email confirmation key, confirmed": ("confirm", "post", ""),
    "email confirmation key, no trailing slash": ("confirm", "get", "strip-slash"),
    "stripe webhook uuid": ("webhook", "post", ""),
}


@pytest.mark.parametrize("case", sorted(KEY_URLS))
def test_request_log_never_holds_a_key_from_the_url(case, member, webhook_url, logs, caplog):
    link, method, variant = KEY_URLS[case]
    make = {
        "reset": lambda: _reset_link(member),
        "confirm": _confirmation_link,
        "webhook": lambda: _webhook(webhook_url),
    }[link]
    path, keys = make()
    if variant == "strip-slash":
        path = path.rstrip("/")
    caplog.clear()

    response = getattr(Client(raise_request_exception=False), method)(path, follow=True)

    assert response.status_code < 500
    [first, *_] = [r.getMessage() for r in caplog.records if r.name == "tollgate.request"]
    assert f"method={method.upper()} path=/" in first
    assert_nowhere(keys, logs())


def test_even_at_debug_level_no_confirmation_key_is_logged_while_mailing_it(logs):
    _, keys = _confirmation_link()  # the mail's template context holds the key

    assert_nowhere(keys, logs())


def test_django_warnings_about_a_key_url_hold_no_key(logs, caplog):
    path, keys = _confirmation_link()
    strict = Client(enforce_csrf_checks=True)
    caplog.clear()

    response = strict.post(path)  # no CSRF token: Django logs "Forbidden (...): <path>"

    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.)" in logs()
    assert "/accounts/confirm-email/<key>/" in logs()
    assert_nowhere(keys, logs())


# --- API tokens --------------------------------------------------------------------


def _token_secrets(tokens: dict[str, str]) -> list[str]:
    """The tokens, each one's signature alone, the session key inside, the private key."""
    from cryptography.hazmat.primitives import serialization

    from apps.accounts.tokens import keys
    from apps.accounts.tokens.codec import sid_decrypt
    from tests.accounts import tokens_forge as forge

    private_pem = keys.signer().private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    body = private_pem.decode().splitlines()[1]  # a line of the key's base64
    session_key = sid_decrypt(forge.claims_of(tokens["access_token"])["sid"])
    signatures = [tokens[name].rsplit(".", 1)[1] for name in ("access_token", "refresh_token")]
    return [*tokens.values(), *signatures, session_key, body]


def test_the_token_lifecycle_logs_no_token_session_key_or_private_key(user, password, logs):
    from allauth.account.models import EmailAddress

    from tests.accounts import headless

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    app = Client()
    tokens = {
        k: v
        for k, v in headless.sign_in(app, email=user.email, password=password).items()
        if isinstance(v, str)
    }
    outputs = [headless.me(Client(), tokens["access_token"]).content.decode()]
    rotated = headless.refresh(app, tokens["refresh_token"])
    outputs.append(headless.refresh(app, tokens["refresh_token"]).content.decode())  # replay
    outputs.append(headless.sign_out(app, tokens["access_token"]).content.decode())
    outputs.append(headless.me(Client(), tokens["access_token"]).content.decode())

    assert "replayed" in logs()  # the replay was logged, naming only the user's id
    fresh = rotated.json()["data"]
    secret_values = [*_token_secrets(tokens), fresh["access_token"], fresh["refresh_token"]]
    assert_nowhere(secret_values, *outputs, logs())


def test_a_server_error_behind_a_token_leaks_no_token(user, password, monkeypatch, logs):
    from allauth.account.models import EmailAddress

    from apps.billing import api
    from tests.accounts import headless

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    meta = headless.sign_in(Client(), email=user.email, password=password)
    tokens = {k: v for k, v in meta.items() if isinstance(v, str)}

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("access exploded")

    monkeypatch.setattr(api, "access_for_user", broken)
    response = Client(raise_request_exception=False).get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )

    assert response.status_code == 500
    assert "access exploded" in logs()
    assert_nowhere(_token_secrets(tokens), response.content.decode(), logs())


# --- Other services (/oauth/introspect, /oauth/revoke) ------------------------------


def _service_calls(member: Any, password: str, monkeypatch: Any) -> tuple[list[str], list[Any]]:
    """A member's session id and a service's secret, and every answer a service can get:
    valid, wrong secret, a revoked session, and an error inside introspection."""
    import base64

    from apps.services import services, token_kinds

    browser = Client()
    response = browser.post(reverse("account_login"), {"login": member.email, "password": password})
    assert response.status_code == 302
    token = browser.cookies[settings.SESSION_COOKIE_NAME].value
    issued = services.service_create(name="Leaky?", may_revoke=True)
    client_id = issued.service.client_id

    def auth(secret: str) -> str:
        return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    caller = Client(raise_request_exception=False)
    introspect, revoke = reverse("services:introspect"), reverse("services:revoke")
    answers = [
        caller.post(introspect, {"token": token}, HTTP_AUTHORIZATION=auth(issued.secret)),
        caller.post(introspect, {"token": token}, HTTP_AUTHORIZATION=auth(issued.secret + "x")),
        caller.post(introspect, {"token": token}, HTTP_AUTHORIZATION=f"Basic {issued.secret}"),
        caller.post(introspect, {"token": token * 200}, HTTP_AUTHORIZATION=auth(issued.secret)),
    ]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("introspection exploded")

    with monkeypatch.context() as patch:
        patch.setattr(token_kinds, "introspect", broken)
        answers.append(
            caller.post(introspect, {"token": token}, HTTP_AUTHORIZATION=auth(issued.secret))
        )
    answers.append(caller.post(revoke, {"token": token}, HTTP_AUTHORIZATION=auth(issued.secret)))
    answers.append(
        caller.post(introspect, {"token": token}, HTTP_AUTHORIZATION=auth(issued.secret))
    )
    return [token, issued.secret], answers


def test_service_endpoints_log_no_token_and_no_secret(member, password, monkeypatch, logs):
    values, answers = _service_calls(member, password, monkeypatch)

    assert [a.status_code for a in answers] == [200, 401, 401, 400, 500, 200, 200]
    assert answers[0].json()["active"] is True
    assert answers[-1].json() == {"active": False}
    assert "introspection exploded" in logs()  # the failure itself was logged...
    assert "Refused service credentials" in logs()
    assert_nowhere(values, logs(), *(a.content.decode() for a in answers))  # ...no secret

"""A session's life: rotated at sign-in, deleted at sign-out, ended by password changes,
listed and ended by its owner, and expired on the server when idle or too old.

Everything goes through allauth's real views, with one `Client` per device.
"""

import re
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts import middleware
from tests.accounts import user_agents as ua
from tests.state_helpers import session_copy_key

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    """The `user` fixture with the verified primary address allauth requires to sign in."""
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def device(name: str) -> Client:
    return Client(headers={"user-agent": name})


def sign_in(client: Client, *, email: str, password: str) -> str:
    """Sign in through allauth's login view; return the new session key (the cookie value)."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def session_key_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def visitor(client: Client):  # type: ignore[no-untyped-def]
    """Who the site thinks the client is on its next request."""
    return client.get(reverse("web:home")).wsgi_request.user


def client_with_cookie(session_key: str) -> Client:
    """A fresh device replaying a captured session cookie."""
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return replay


def in_redis(redis, session_key: str) -> bool:  # type: ignore[no-untyped-def]
    key = session_copy_key(session_key)
    return bool(redis.exists(key))


def in_postgres(session_key: str) -> bool:
    return Session.objects.filter(session_key=session_key).exists()


# --- Sign-in and sign-out ---------------------------------------------------------


def test_login_rotates_the_session_key_and_the_pre_login_key_stops_working(member, password):
    browser = device("Browser")
    anonymous_session = browser.session  # the test client saves it and sets the cookie
    anonymous_session["cart"] = "kept until login"
    anonymous_session.save()
    pre_login_key = session_key_of(browser)

    post_login_key = sign_in(browser, email=member.email, password=password)

    assert post_login_key != pre_login_key
    assert visitor(browser) == member
    assert not in_postgres(pre_login_key)
    assert not visitor(client_with_cookie(pre_login_key)).is_authenticated


def test_logout_deletes_the_session_on_the_server(member, password, redis):
    browser = device("Browser")
    session_key = sign_in(browser, email=member.email, password=password)
    assert in_redis(redis, session_key)
    assert in_postgres(session_key)

    response = browser.post(reverse("account_logout"))

    assert response.status_code == 302
    assert not in_redis(redis, session_key)
    assert not in_postgres(session_key)
    assert not visitor(client_with_cookie(session_key)).is_authenticated


def test_logout_by_get_does_not_sign_out(member, password):
    browser = device("Browser")
    sign_in(browser, email=member.email, password=password)

    browser.get(reverse("account_logout"))

    assert visitor(browser) == member


# --- Password change and reset ------------------------------------------------------


def test_password_change_keeps_this_session_and_ends_every_other_one(member, password, redis):
    laptop, phone = device("Laptop"), device("Phone")
    sign_in(laptop, email=member.email, password=password)
    phone_key = sign_in(phone, email=member.email, password=password)

    response = laptop.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    # Server-side state first: a stale auth hash alone would also make the phone anonymous
    # on its next request (and flush it then), which is not what is being tested.
    assert not in_redis(redis, phone_key)
    assert not in_postgres(phone_key)
    remaining = UserSession.objects.filter(user=member)
    assert list(remaining.values_list("session_key", flat=True)) == [session_key_of(laptop)]
    assert visitor(laptop) == member
    assert not visitor(phone).is_authenticated


def test_password_reset_by_emailed_link_ends_all_sessions(member, password, redis):
    laptop, phone = device("Laptop"), device("Phone")
    laptop_key = sign_in(laptop, email=member.email, password=password)
    phone_key = sign_in(phone, email=member.email, password=password)
    stranger_browser = device("Somewhere else")

    stranger_browser.post(reverse("account_reset_password"), {"email": member.email})
    assert len(mail.outbox) == 1
    reset_link = re.search(r"https?://\S+/password/reset/key/\S+/", mail.outbox[0].body)
    assert reset_link is not None
    # allauth stashes the key in the session and redirects to a key-less form URL.
    form_url = stranger_browser.get(reset_link[0], follow=True).redirect_chain[-1][0]
    response = stranger_browser.post(
        form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_from_key_done")
    for key in (laptop_key, phone_key):
        assert not in_redis(redis, key)
        assert not in_postgres(key)
    assert not UserSession.objects.filter(user=member).exists()
    assert not visitor(laptop).is_authenticated
    assert not visitor(phone).is_authenticated


# --- The member's own sessions page ---------------------------------------------------


def test_sessions_page_lists_every_device_and_marks_the_current_one(member, password):
    laptop, phone = device(ua.CHROME_LINUX), device(ua.SAFARI_IPHONE)
    laptop_key = sign_in(laptop, email=member.email, password=password)
    phone_key = sign_in(phone, email=member.email, password=password)

    response = phone.get(reverse("usersessions_list"))

    assert response.status_code == 200
    listed = {session.session_key for session in response.context["sessions"]}
    assert listed == {laptop_key, phone_key}
    rows = re.findall(r"<tr.*?</tr>", response.content.decode(), flags=re.DOTALL)
    current_badge = re.compile(r"<strong[^>]*>\s*Current\s*</strong>")
    marked = [row for row in rows if current_badge.search(row)]
    assert len(marked) == 1
    assert "Safari on iOS" in marked[0]


def test_sign_out_other_devices_ends_the_other_session_only(member, password, redis):
    laptop, phone = device("Laptop"), device("Phone")
    laptop_key = sign_in(laptop, email=member.email, password=password)
    phone_key = sign_in(phone, email=member.email, password=password)

    # The page's form has no fields beyond the CSRF token: submitting it ends the others.
    response = laptop.post(reverse("usersessions_list"))

    assert response.status_code == 302
    assert not in_redis(redis, phone_key)
    assert not in_postgres(phone_key)
    remaining = UserSession.objects.filter(user=member).values_list("session_key", flat=True)
    assert list(remaining) == [laptop_key]
    assert visitor(laptop) == member
    assert not visitor(phone).is_authenticated


def test_ending_one_other_session_leaves_the_rest_signed_in(member, password):
    """allauth's page only offers "sign out other sessions"; a single row ends via its model."""
    laptop, phone, tablet = device("Laptop"), device("Phone"), device("Tablet")
    sign_in(laptop, email=member.email, password=password)
    phone_key = sign_in(phone, email=member.email, password=password)
    sign_in(tablet, email=member.email, password=password)

    UserSession.objects.get(session_key=phone_key).end()

    assert not visitor(phone).is_authenticated
    assert visitor(laptop) == member
    assert visitor(tablet) == member
    assert UserSession.objects.filter(user=member).count() == 2


# --- Idle and absolute expiry ---------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Moves the middleware's clock (only its own, not the process-wide `time.time`)."""
    real_time = middleware.time.time
    offset = SimpleNamespace(seconds=0)
    fake = SimpleNamespace(time=lambda: real_time() + offset.seconds)
    monkeypatch.setattr(middleware, "time", fake)
    return offset


def test_idle_session_is_anonymous_and_flushed_on_the_next_request(
    member, password, settings, clock, redis
):
    settings.SESSION_IDLE_TIMEOUT = 300
    browser = device("Browser")
    session_key = sign_in(browser, email=member.email, password=password)

    clock.seconds = 301
    response = browser.get(reverse("web:home"))

    assert not response.wsgi_request.user.is_authenticated
    assert not in_redis(redis, session_key)
    assert not in_postgres(session_key)
    assert not visitor(client_with_cookie(session_key)).is_authenticated


def test_activity_within_the_idle_window_keeps_the_session_alive(member, password, settings, clock):
    settings.SESSION_IDLE_TIMEOUT = 300
    browser = device("Browser")
    sign_in(browser, email=member.email, password=password)

    for clock.seconds in (200, 400, 600, 800):
        assert visitor(browser) == member


def test_session_older_than_the_absolute_maximum_ends_despite_activity(
    member, password, settings, clock
):
    settings.SESSION_IDLE_TIMEOUT = 300
    settings.SESSION_COOKIE_AGE = 700
    browser = device("Browser")
    session_key = sign_in(browser, email=member.email, password=password)

    for clock.seconds in (200, 400, 600):
        assert visitor(browser) == member
    clock.seconds = 701

    assert not visitor(browser).is_authenticated
    assert not in_postgres(session_key)

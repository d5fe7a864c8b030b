"""Sign-in under attack: production cookie flags, session fixation, brute force (one
account, one IP, and through the admin login)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.reliability.conftest import sign_in, verified, who

pytestmark = pytest.mark.django_db

TOO_MANY = b"Too many failed login attempts"


def test_session_and_csrf_cookies_in_production_are_host_only_secure_and_lax(
    production, member, password
):
    browser = Client()
    form = browser.get(reverse("account_login"), secure=True)
    response = browser.post(
        reverse("account_login"),
        {"login": member.email, "password": password},
        secure=True,
        headers={"X-Forwarded-Proto": "https"},
    )

    assert response.status_code == 302
    session = response.cookies["__Host-sessionid"]
    csrf = form.cookies["__Host-csrftoken"]
    for cookie in (session, csrf):
        assert cookie["secure"] is True
        assert cookie["path"] == "/"
        assert cookie["domain"] == ""  # a __Host- cookie must not name a domain
        assert cookie["samesite"] == "Lax"
    assert session["httponly"] is True
    assert "sessionid" not in response.cookies


def test_session_key_planted_before_login_is_useless_after_login(member, password):
    attacker = Client()
    attacker_session = attacker.session  # a real anonymous session the attacker holds
    attacker_session["planted"] = True
    attacker_session.save()
    planted = attacker_session.session_key
    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted

    assert sign_in(victim, email=member.email, password=password).status_code == 302

    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert who(victim.get(reverse("web:home"))) == member
    assert not who(attacker.get(reverse("web:home"))).is_authenticated


def test_after_five_failures_the_right_password_is_refused_for_that_account(
    member, password, client
):
    for _ in range(5):
        failed = sign_in(client, email=member.email, password="wrong password")
        assert failed.status_code == 200
        assert TOO_MANY not in failed.content

    response = sign_in(client, email=member.email, password=password)

    assert response.status_code == 200
    assert TOO_MANY in response.content
    assert not who(client.get(reverse("web:home"))).is_authenticated
    # Another account from another device is not locked out by it.
    other = verified(UserFactory(password=password))
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert sign_in(elsewhere, email=other.email, password=password).status_code == 302


def test_ten_failures_from_one_ip_across_accounts_throttle_that_ip(member, password):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(10):
        failed = sign_in(attacker, email=f"someone{n}@example.com", password="guess")
        assert failed.status_code == 200
        assert TOO_MANY not in failed.content

    response = sign_in(attacker, email=member.email, password=password)

    assert response.status_code == 200
    assert TOO_MANY in response.content
    assert not who(attacker.get(reverse("web:home"))).is_authenticated
    # The limit is per IP: the member signs in from their own address.
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert sign_in(elsewhere, email=member.email, password=password).status_code == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_admin_login_goes_through_allauths_rate_limited_login(client, password, method):
    admin = UserFactory(password=password, is_staff=True, is_superuser=True)
    credentials = {"username": admin.email, "password": password}

    response = getattr(client, method)(reverse("admin:login"), credentials)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")
    assert not who(client.get(reverse("web:home"))).is_authenticated


def test_admin_sign_in_is_refused_once_the_account_is_throttled(client, password):
    admin = verified(UserFactory(password=password, is_staff=True, is_superuser=True))
    login = client.get(reverse("admin:login"))["Location"]
    for _ in range(5):
        client.post(login, {"login": admin.email, "password": "wrong password"})

    response = client.post(login, {"login": admin.email, "password": password})

    assert TOO_MANY in response.content
    assert client.get(reverse("admin:index")).status_code == 302  # still signed out

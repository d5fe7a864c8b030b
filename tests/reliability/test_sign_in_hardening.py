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


# --- Behind the TLS proxy: whose address is counted -----------------------------------

PROXY = "10.0.0.2"


def behind_proxy(client_ip: str, forged: str = "") -> Client:
    """A browser at `client_ip` whose requests reach us through our proxy, which appends
    the address it saw to whatever X-Forwarded-For the browser sent."""
    chain = f"{forged}, {client_ip}" if forged else client_ip
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=chain)


def fail_ten_times(browser: Client) -> None:
    for n in range(10):
        failed = sign_in(browser, email=f"someone{n}@example.com", password="guess")
        assert TOO_MANY not in failed.content


def test_without_a_trusted_proxy_every_client_behind_it_shares_one_limit(member, password):
    fail_ten_times(behind_proxy("203.0.113.7"))

    response = sign_in(behind_proxy("198.51.100.9"), email=member.email, password=password)

    assert TOO_MANY in response.content  # the proxy's address was throttled, for everyone


def test_behind_a_trusted_proxy_each_client_is_limited_by_its_own_address(
    settings, member, password
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    attacker = behind_proxy("203.0.113.7")
    fail_ten_times(attacker)

    assert TOO_MANY in sign_in(attacker, email=member.email, password=password).content
    elsewhere = behind_proxy("198.51.100.9")
    assert sign_in(elsewhere, email=member.email, password=password).status_code == 302


def test_behind_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(settings, member, password):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        forger = behind_proxy("203.0.113.7", forged=f"192.0.2.{n}")
        sign_in(forger, email=f"someone{n}@example.com", password="guess")

    forger = behind_proxy("203.0.113.7", forged="192.0.2.200")
    assert TOO_MANY in sign_in(forger, email=member.email, password=password).content


def test_without_a_trusted_proxy_a_direct_client_cannot_forge_its_address(member, password):
    for n in range(10):
        forger = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        sign_in(forger, email=f"someone{n}@example.com", password="guess")

    forger = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert TOO_MANY in sign_in(forger, email=member.email, password=password).content


@pytest.mark.parametrize(("trusted", "shown"), [(0, PROXY), (1, "203.0.113.7")])
def test_sessions_page_shows_the_address_allauth_trusts(settings, member, password, trusted, shown):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = trusted
    browser = behind_proxy("203.0.113.7")
    assert sign_in(browser, email=member.email, password=password).status_code == 302

    page = browser.get(reverse("usersessions_list"))

    # The device column names the address ("Chrome on Linux, 203.0.113.7").
    assert f", {shown}".encode() in page.content
    other = {PROXY, "203.0.113.7"} - {shown}
    assert f", {other.pop()}".encode() not in page.content

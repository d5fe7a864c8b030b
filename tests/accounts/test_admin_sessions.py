"""Admins end a member's sessions: the change page button, the list action, and
deactivation. "Ended" means gone on the server, not just refused by the auth backend."""

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.accounts.user_agents import CHROME_LINUX
from tests.state_helpers import session_copy_key

pytestmark = pytest.mark.django_db


def verified(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(client: Client, *, email: str, password: str) -> str:
    """Sign in through allauth's login view; return the new session key (the cookie value)."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def visitor(client: Client):  # type: ignore[no-untyped-def]
    return client.get(reverse("web:home")).wsgi_request.user


def session_exists(redis, session_key: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether any server-side copy of the session is left (Redis or Postgres)."""
    key = session_copy_key(session_key)
    in_postgres = Session.objects.filter(session_key=session_key).exists()
    return bool(redis.exists(key)) or in_postgres


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    return verified(user)


@pytest.fixture
def member_devices(member, password):  # type: ignore[no-untyped-def]
    """The member signed in on two devices: {client: session key}."""
    laptop = Client(headers={"user-agent": "Laptop/1.0"})
    phone = Client(headers={"user-agent": "Phone/2.0"})
    return {
        laptop: sign_in(laptop, email=member.email, password=password),
        phone: sign_in(phone, email=member.email, password=password),
    }


@pytest.fixture
def admin_browser(password):  # type: ignore[no-untyped-def]
    admin = verified(UserFactory(password=password, is_staff=True, is_superuser=True))
    browser = Client(headers={"user-agent": "AdminBrowser"})
    sign_in(browser, email=admin.email, password=password)
    browser.admin = admin  # type: ignore[attr-defined]
    return browser


def assert_all_ended(member, member_devices, redis) -> None:  # type: ignore[no-untyped-def]
    # Server-side state before any request: an inactive user is anonymous anyway, so only
    # the missing sessions prove they were ended.
    for session_key in member_devices.values():
        assert not session_exists(redis, session_key)
    assert not UserSession.objects.filter(user=member).exists()
    for device in member_devices:
        assert not visitor(device).is_authenticated


def test_end_sessions_button_ends_every_session_of_the_user(
    admin_browser, member, member_devices, redis
):
    url = reverse("admin:accounts_user_end_sessions", args=[member.pk])

    response = admin_browser.post(url, follow=True)

    assert response.redirect_chain[0] == (
        reverse("admin:accounts_user_change", args=[member.pk]),
        302,
    )
    assert "Ended 2 session(s)" in response.content.decode()
    assert_all_ended(member, member_devices, redis)
    assert visitor(admin_browser) == admin_browser.admin


def test_end_sessions_button_refuses_get(admin_browser, member, member_devices, redis):
    response = admin_browser.get(reverse("admin:accounts_user_end_sessions", args=[member.pk]))

    assert response.status_code == 405
    for device, session_key in member_devices.items():
        assert visitor(device) == member
        assert session_exists(redis, session_key)


def test_staff_without_change_permission_cannot_end_sessions(
    password, member, member_devices, redis
):
    staff = verified(UserFactory(password=password, is_staff=True))
    browser = Client()
    sign_in(browser, email=staff.email, password=password)

    response = browser.post(reverse("admin:accounts_user_end_sessions", args=[member.pk]))

    assert response.status_code == 403
    for device in member_devices:
        assert visitor(device) == member


def test_end_sessions_admin_action_ends_sessions_of_the_selected_users_only(
    admin_browser, member, member_devices, password, redis
):
    bystander = verified(UserFactory(password=password))
    bystander_browser = Client()
    sign_in(bystander_browser, email=bystander.email, password=password)

    response = admin_browser.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "end_sessions", "_selected_action": [member.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Ended 2 session(s)." in response.content.decode()
    assert_all_ended(member, member_devices, redis)
    assert visitor(bystander_browser) == bystander
    assert visitor(admin_browser) == admin_browser.admin


def test_user_change_page_shows_sessions_inline_and_the_end_button(
    admin_browser, member, member_devices
):
    response = admin_browser.get(reverse("admin:accounts_user_change", args=[member.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Active sessions" in page
    assert "Laptop/1.0" in page
    assert "Phone/2.0" in page
    assert "AdminBrowser" not in page
    assert reverse("admin:accounts_user_end_sessions", args=[member.pk]) in page


def test_user_change_page_names_each_session_device_and_its_user_agent_once(
    admin_browser, member, password
):
    laptop = Client(headers={"user-agent": CHROME_LINUX})
    sign_in(laptop, email=member.email, password=password)

    response = admin_browser.get(reverse("admin:accounts_user_change", args=[member.pk]))

    page = response.content.decode()
    inline = page[page.index("Active sessions") :]
    assert "Chrome on Linux, 127.0.0.1" in inline
    assert inline.count(CHROME_LINUX) == 1


def test_deactivating_a_user_in_the_admin_ends_their_sessions(
    admin_browser, member, member_devices, redis, django_capture_on_commit_callbacks
):
    member.refresh_from_db()
    change_url = reverse("admin:accounts_user_change", args=[member.pk])
    formset = admin_browser.get(change_url).context["inline_admin_formsets"][0].formset
    data = {
        "email": member.email,
        "name": member.name,
        # is_active left out: an unticked checkbox.
        "last_login_0": member.last_login.strftime("%Y-%m-%d"),
        "last_login_1": member.last_login.strftime("%H:%M:%S"),
        "date_joined_0": member.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": member.date_joined.strftime("%H:%M:%S"),
    }
    for name, value in formset.management_form.initial.items():
        data[f"{formset.prefix}-{name}"] = value
    for form in formset.forms:
        data[f"{form.prefix}-id"] = form.instance.pk
        data[f"{form.prefix}-user"] = member.pk

    # Sessions end once the deactivation commits (a racing request cannot revive them).
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_browser.post(change_url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert not member.is_active
    assert_all_ended(member, member_devices, redis)


def test_saving_a_user_as_inactive_ends_their_sessions(
    member, member_devices, redis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        member.is_active = False
        member.save()

    assert_all_ended(member, member_devices, redis)


def test_saving_an_active_user_leaves_their_sessions_alone(member, member_devices, redis):
    member.name = "Renamed"
    member.save()

    for device, session_key in member_devices.items():
        assert visitor(device) == member
        assert session_exists(redis, session_key)

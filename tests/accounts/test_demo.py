"""The local demo's accounts: the credentials `make run` prints sign in at once."""

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.accounts.services import demo_admin_ensure
from tests.accounts.test_admin_create import ADMIN_INDEX, sign_in_to_admin

pytestmark = pytest.mark.django_db

PRINTED = re.compile(r"^\s*(admin|member)\s+(\S+)\s+password: (\S+)$", re.MULTILINE)


def test_demo_admin_signs_in_to_the_admin_with_its_printed_password():
    user, password = demo_admin_ensure(email="admin@example.com", password=None)

    assert password
    page = sign_in_to_admin(user.email, password).get(ADMIN_INDEX)
    assert page.status_code == 200
    assert mail.outbox == []


def test_demo_users_command_prints_credentials_that_sign_in(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_users", stdout=out)

    printed = {role: (email, pw) for role, email, pw in PRINTED.findall(out.getvalue())}
    assert printed["admin"][0] == settings.DEMO_ADMIN_EMAIL
    assert printed["member"][0] == settings.DEMO_MEMBER_EMAIL
    assert sign_in_to_admin(*printed["admin"]).get(ADMIN_INDEX).status_code == 200
    member = Client()
    response = member.post(
        reverse("account_login"), {"login": printed["member"][0], "password": printed["member"][1]}
    )
    assert response.url == reverse(settings.LOGIN_REDIRECT_URL)
    assert member.get(ADMIN_INDEX).status_code == 302


def test_demo_users_command_run_again_keeps_the_passwords_and_says_so(settings):
    settings.DEBUG = True
    call_command("demo_users", stdout=StringIO())
    out = StringIO()

    call_command("demo_users", stdout=out)

    assert out.getvalue().count("unchanged since it was printed at creation") == 2


def test_demo_users_command_refuses_without_debug():
    with pytest.raises(CommandError, match="local use"):
        call_command("demo_users", stdout=StringIO())

"""`manage.py admin_create`: the first admin signs in to the admin with no email sent."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "a long and uncommon admin passphrase 9"
ADMIN_INDEX = f"/{settings.ADMIN_URL}"


def admin_create(*args: str, stdin: str = "") -> str:
    out = StringIO()
    call_command("admin_create", *args, stdin=StringIO(stdin), stdout=out)
    return out.getvalue()


def sign_in_to_admin(email: str, password: str) -> Client:
    """Sign in through allauth's login (where the admin login sends everyone)."""
    browser = Client()
    login = browser.get(ADMIN_INDEX, follow=True)
    assert login.request["PATH_INFO"] == reverse("account_login")
    browser.post(
        reverse("account_login") + f"?next={ADMIN_INDEX}", {"login": email, "password": password}
    )
    return browser


def test_createsuperuser_admin_lands_on_verify_your_email_instead_of_the_admin():
    User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD)
    browser = Client()

    response = browser.post(
        reverse("account_login") + f"?next={ADMIN_INDEX}",
        {"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )

    assert response.url == reverse("account_email_verification_sent")
    assert browser.get(ADMIN_INDEX).status_code == 302


def test_admin_create_makes_an_admin_who_signs_in_to_the_admin_through_allauth():
    output = admin_create("--email", "Ops@Example.com", "--password-stdin", stdin=ADMIN_PASSWORD)

    assert f"Created admin {ADMIN_EMAIL}" in output
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_superuser
    assert admin.is_staff
    assert EmailAddress.objects.get(user=admin).verified
    page = sign_in_to_admin(ADMIN_EMAIL, ADMIN_PASSWORD).get(ADMIN_INDEX)
    assert page.status_code == 200
    assert b"Site administration" in page.content
    assert mail.outbox == []


def test_admin_create_twice_changes_nothing_and_says_so():
    admin_create("--email", ADMIN_EMAIL, "--password-stdin", stdin=ADMIN_PASSWORD)
    password_hash = User.objects.get(email=ADMIN_EMAIL).password

    output = admin_create("--email", ADMIN_EMAIL)

    assert "already an admin with a verified email; nothing changed" in output
    assert "password is unchanged" in output
    assert User.objects.get(email=ADMIN_EMAIL).password == password_hash
    assert User.objects.count() == 1
    assert EmailAddress.objects.count() == 1


def test_admin_create_promotes_and_verifies_an_existing_account_keeping_its_password(password):
    member = UserFactory(email=ADMIN_EMAIL, password=password)
    EmailAddress.objects.create(user=member, email=member.email, verified=False, primary=True)

    output = admin_create("--email", ADMIN_EMAIL)

    assert "gave it admin access, made it a superuser, verified its email" in output
    assert sign_in_to_admin(ADMIN_EMAIL, password).get(ADMIN_INDEX).status_code == 200


def test_admin_create_refuses_a_weak_password_and_creates_nothing():
    with pytest.raises(CommandError, match="too common"):
        admin_create("--email", ADMIN_EMAIL, "--password-stdin", stdin="password\n")

    assert not User.objects.exists()


def test_admin_create_refuses_to_prompt_without_a_terminal():
    with pytest.raises(CommandError, match="--password-stdin"):
        admin_create("--email", ADMIN_EMAIL)

    assert not User.objects.exists()

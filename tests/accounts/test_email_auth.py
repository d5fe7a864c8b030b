"""Email and password sign-up, verification, sign-in and password reset through allauth."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_MEMBER_PASSWORD = "a long and uncommon passphrase 7"
RESET_LINK = re.compile(r"https?://\S+/password/reset/key/\S+/")


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def visitor(client: Client):  # type: ignore[no-untyped-def]
    return client.get(reverse("web:home")).wsgi_request.user


def sign_up(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": NEW_MEMBER_PASSWORD, "password2": NEW_MEMBER_PASSWORD},
    )


def test_sign_up_creates_an_unverified_user_and_emails_a_verification_link():
    browser = Client()

    response = sign_up(browser, "New.Member@Example.com")

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.member@example.com")
    assert user.check_password(NEW_MEMBER_PASSWORD)
    address = EmailAddress.objects.get(user=user)
    assert not address.verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.member@example.com"]
    assert reverse("account_confirm_email", args=["KEY"]).removesuffix("KEY/") in (
        mail.outbox[0].body
    )
    assert not visitor(browser).is_authenticated


def test_following_the_verification_link_verifies_the_address_and_signs_in():
    browser = Client()
    sign_up(browser, "new@example.com")
    confirm_prefix = reverse("account_confirm_email", args=["KEY"]).removesuffix("KEY/")
    link = re.search(rf"https?://\S+{re.escape(confirm_prefix)}\S+/", mail.outbox[0].body)
    assert link is not None

    # The link opens a confirmation page; confirming is a POST, so link scanners can't.
    page = browser.get(link[0])
    assert page.status_code == 200
    assert not EmailAddress.objects.get(email="new@example.com").verified
    response = browser.post(link[0])

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new@example.com").verified
    assert visitor(browser) == User.objects.get(email="new@example.com")


def test_unverified_user_cannot_sign_in():
    sign_up(Client(), "new@example.com")
    other_browser = Client()

    response = other_browser.post(
        reverse("account_login"), {"login": "new@example.com", "password": NEW_MEMBER_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert not visitor(other_browser).is_authenticated


def test_sign_up_with_a_taken_email_creates_no_second_account(member):
    response = sign_up(Client(), member.email.upper())

    # Same answer as a fresh sign-up, so the form does not reveal who has an account.
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert User.objects.filter(email=member.email).count() == 1


def test_login_with_the_right_password_signs_in(member, password):
    browser = Client()

    response = browser.post(
        reverse("account_login"), {"login": member.email.upper(), "password": password}
    )

    assert response.status_code == 302
    assert visitor(browser) == member


def test_login_with_a_wrong_password_fails(member):
    browser = Client()

    response = browser.post(
        reverse("account_login"), {"login": member.email, "password": "not the password"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not response.wsgi_request.user.is_authenticated
    assert not visitor(browser).is_authenticated


def test_login_by_get_shows_the_form_and_does_not_sign_in(member, password):
    browser = Client()

    response = browser.get(reverse("account_login"), {"login": member.email, "password": password})

    assert response.status_code == 200
    assert "form" in response.context
    assert not visitor(browser).is_authenticated


def test_password_reset_for_a_known_email_sends_a_reset_link(member):
    response = Client().post(reverse("account_reset_password"), {"email": member.email})

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert RESET_LINK.search(mail.outbox[0].body)


def test_password_reset_for_an_unknown_email_answers_like_a_known_one_and_sends_no_link(
    member,
):
    known = Client().post(reverse("account_reset_password"), {"email": member.email})
    mail.outbox.clear()

    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    # allauth may tell the unknown address that it has no account (EMAIL_UNKNOWN_ACCOUNTS);
    # what must never happen is a reset link, or a mail to anyone else.
    assert not any(RESET_LINK.search(message.body) for message in mail.outbox)
    assert all(message.to == ["nobody@example.com"] for message in mail.outbox)


def test_password_reset_for_an_inactive_user_sends_no_link(password):
    inactive = UserFactory(password=password, is_active=False)
    EmailAddress.objects.create(user=inactive, email=inactive.email, verified=True, primary=True)

    response = Client().post(reverse("account_reset_password"), {"email": inactive.email})

    assert response.status_code == 302
    assert not any(RESET_LINK.search(message.body) for message in mail.outbox)

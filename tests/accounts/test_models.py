import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_stored_lower_cased():
    user = UserFactory(email="  Ada@Example.COM ")
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_email_is_unique_whatever_its_case():
    UserFactory(email="ada@example.com")
    with pytest.raises(IntegrityError):
        UserFactory(email="ADA@example.com")


def test_sign_in_by_email_ignores_case(password):
    user = UserFactory(email="ada@example.com", password=password)
    assert authenticate(username="Ada@EXAMPLE.com", password=password) == user


def test_create_superuser_sets_staff_flags():
    admin = User.objects.create_superuser("root@example.com", "pw-123456789")
    assert admin.is_staff
    assert admin.is_superuser

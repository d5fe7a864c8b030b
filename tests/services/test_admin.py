"""The services admin: create (the secret shown once), rotate and revoke actions."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.services import credentials
from apps.services.models import Service

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"tgs_[A-Za-z0-9_-]{43}")


@pytest.fixture
def admin_client(db) -> Client:  # type: ignore[no-untyped-def]
    from tests.accounts.factories import UserFactory

    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_the_admin_pages_render(admin_client, issued):
    for url in (
        reverse("admin:services_service_changelist"),
        reverse("admin:services_service_add"),
        reverse("admin:services_service_change", args=[issued.service.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    change_page = admin_client.get(
        reverse("admin:services_service_change", args=[issued.service.pk])
    ).content.decode()
    assert issued.service.client_id in change_page
    assert issued.secret not in change_page
    assert issued.service.secret_digest not in change_page


def test_creating_a_service_shows_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:services_service_add"), {"name": "Billing bot", "may_revoke": "on"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    [secret] = SECRET.findall(page)
    service = Service.objects.get(name="Billing bot")
    assert service.client_id in page
    assert service.may_revoke
    assert credentials.authenticate(service.client_id, secret) is not None
    assert service.secret_digest == credentials.digest(secret)
    for url in (
        reverse("admin:services_service_changelist"),
        reverse("admin:services_service_change", args=[service.pk]),
    ):
        assert secret not in admin_client.get(url).content.decode()  # never again


def test_the_rotate_action_shows_the_new_secret_and_keeps_the_old_one_for_the_overlap(
    admin_client, issued
):
    response = admin_client.post(
        reverse("admin:services_service_changelist"),
        {"action": "rotate_secrets", "_selected_action": [issued.service.pk]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [secret] = SECRET.findall(response.content.decode())
    assert secret != issued.secret
    client_id = issued.service.client_id
    assert credentials.authenticate(client_id, secret) is not None
    assert credentials.authenticate(client_id, issued.secret) is not None


def test_the_revoke_action_refuses_the_service_at_once(
    admin_client, issued, django_capture_on_commit_callbacks
):
    client_id = issued.service.client_id
    assert credentials.authenticate(client_id, issued.secret) is not None  # cached

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:services_service_changelist"),
            {"action": "revoke", "_selected_action": [issued.service.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "Revoked: Forum." in response.content.decode()
    assert credentials.authenticate(client_id, issued.secret) is None
    assert not Service.objects.get(pk=issued.service.pk).is_active


def test_rotating_a_revoked_service_says_why_not(admin_client, issued):
    from apps.services import services

    services.service_revoke(service=issued.service)

    response = admin_client.post(
        reverse("admin:services_service_changelist"),
        {"action": "rotate_secrets", "_selected_action": [issued.service.pk]},
        follow=True,
    )

    assert "is revoked; create a new service instead" in response.content.decode()
    assert not SECRET.findall(response.content.decode())

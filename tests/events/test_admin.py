"""The admin: an endpoint's secret is shown once, deliveries show their log and retry."""

import pytest
from django.conf import settings
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.events import services
from apps.events.models import ACCESS_CHANGED, SESSION_ENDED, Attempt, Delivery, Endpoint
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def delivery(user, endpoint_for) -> Delivery:  # type: ignore[no-untyped-def]
    endpoint_for()
    event = services.event_emit(
        event_type=SESSION_ENDED, user_id=user.pk, data={"session": {"id": "ab" * 16}}
    )
    delivery = Delivery.objects.get(event=event)
    delivery.attempts, delivery.status, delivery.last_error = 3, Delivery.Status.DEAD, "HTTP 503"
    delivery.save()
    Attempt.objects.create(
        delivery=delivery,
        number=3,
        started_at=event.created_at,  # type: ignore[union-attr]
        latency_ms=12.5,
        status_code=503,
        error="HTTP 503",
    )
    return delivery


def test_adding_an_endpoint_shows_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:events_endpoint_add"),
        {
            "name": "ledger",
            "url": "https://ledger.example.com/hooks",
            "event_types": [ACCESS_CHANGED],
            "is_active": "on",
        },
    )

    endpoint = Endpoint.objects.get()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == [ACCESS_CHANGED]
    page = admin_client.get(reverse("admin:events_endpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    assert endpoint.secret_hint in page.content.decode()
    listing = admin_client.get(reverse("admin:events_endpoint_changelist"))
    assert endpoint.secret not in listing.content.decode()


def test_rotating_the_secret_shows_the_new_one_once(admin_client, endpoint_for):
    endpoint = endpoint_for()
    old = endpoint.secret

    response = admin_client.post(
        reverse("admin:events_endpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
    )

    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()


def test_delivery_pages_render_with_their_log(admin_client, delivery):
    listing = admin_client.get(reverse("admin:events_delivery_changelist"))
    page = admin_client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    event_page = admin_client.get(reverse("admin:events_event_change", args=[delivery.event_id]))
    events = admin_client.get(reverse("admin:events_event_changelist"))

    assert [listing.status_code, page.status_code, event_page.status_code] == [200, 200, 200]
    assert events.status_code == 200
    html = page.content.decode()
    assert "Delivery log" in html
    assert "HTTP 503" in html
    assert "12.5" in html
    assert delivery.event_id in listing.content.decode()


def test_retry_now_queues_a_dead_delivery_again_with_fresh_attempts(admin_client, delivery):
    old_job = delivery.job_id

    response = admin_client.post(
        reverse("admin:events_delivery_changelist"),
        {"action": "retry_now", "_selected_action": [delivery.pk]},
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_attempt == 3 + settings.EVENTS_MAX_ATTEMPTS
    assert delivery.job_id != old_job
    assert ProcrastinateJob.objects.get(id=delivery.job_id).status == "todo"

"""Events are written in the change's transaction, by the changes that make them."""

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.accounts import middleware
from apps.accounts import services as accounts_services
from apps.accounts.signals import session_digest
from apps.billing import services as billing_services
from apps.billing.access.resolver import access_compute
from apps.core import state
from apps.events.models import ACCESS_CHANGED, SESSION_ENDED, Delivery, Event

pytestmark = pytest.mark.django_db


class BoomError(Exception):
    pass


def events(event_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(e.body) for e in Event.objects.filter(type=event_type).order_by("created_at")
    ]


def jobs() -> list[ProcrastinateJob]:
    """This test's delivery jobs (a worker test's may remain: the table is not Django's)."""
    ids = list(Delivery.objects.values_list("job_id", flat=True))
    return list(ProcrastinateJob.objects.filter(task_name="events.deliver", id__in=ids))


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(member, password: str) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": member.email, "password": password})
    assert response.status_code == 302
    return browser, browser.cookies[settings.SESSION_COOKIE_NAME].value


# --- The outbox shares the change's transaction -------------------------------------


def test_an_access_change_writes_event_delivery_and_job_in_its_transaction(
    user, subscribe, endpoint_for
):
    endpoint_for()
    subscribe("pro_monthly")
    with transaction.atomic():
        billing_services.access_invalidate(user_ids=[user.pk])
        [event] = Event.objects.all()  # visible inside the transaction, before commit
        [delivery] = Delivery.objects.filter(event=event)
        [job] = jobs()
        assert job.args == {"delivery_id": delivery.pk}
        assert job.status == "todo"
        assert delivery.job_id == job.id

    [payload] = events(ACCESS_CHANGED)
    assert payload["data"]["access"] == access_compute(user.pk).as_json()
    assert payload["data"]["access"]["status"] == "active"


def test_a_change_that_rolls_back_leaves_no_event_and_no_job(user, subscribe, endpoint_for):
    endpoint_for()
    subscribe("pro_monthly")

    def change() -> None:
        with transaction.atomic():
            billing_services.access_invalidate(user_ids=[user.pk])
            assert Event.objects.count() == 1
            raise BoomError

    with pytest.raises(BoomError):
        change()

    assert Event.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert jobs() == []


def test_only_a_real_change_of_access_is_announced(user, subscribe, endpoint_for):
    endpoint_for()
    billing_services.access_invalidate(user_ids=[user.pk])  # free: the first announcement
    billing_services.access_invalidate(user_ids=[user.pk])  # still free: nothing new
    subscribe("pro_monthly")
    billing_services.access_invalidate(user_ids=[user.pk])

    assert [p["data"]["access"]["status"] for p in events(ACCESS_CHANGED)] == ["free", "active"]


def test_nothing_is_written_without_an_endpoint_that_wants_the_type(user, endpoint_for):
    endpoint_for(event_types=[SESSION_ENDED])
    endpoint_for(event_types=[ACCESS_CHANGED], is_active=False)

    billing_services.access_invalidate(user_ids=[user.pk])

    assert Event.objects.count() == 0
    assert jobs() == []


def test_one_event_fans_out_to_every_endpoint_that_wants_it(user, endpoint_for):
    ledger, crm = endpoint_for(), endpoint_for()

    billing_services.access_invalidate(user_ids=[user.pk])

    [event] = Event.objects.all()
    assert {d.endpoint_id for d in event.deliveries.all()} == {ledger.pk, crm.pk}
    assert len(jobs()) == 2


# --- access.changed from Stripe's webhooks --------------------------------------------


def test_a_signed_webhook_making_the_subscription_past_due_announces_it_once(
    user, subscribe, fake_stripe, send_event, endpoint_for
):
    sub = subscribe("pro_monthly", status="active")
    endpoint_for()
    billing_services.access_invalidate(user_ids=[user.pk])  # receivers know: active
    fake_stripe.update(sub["id"], status="past_due")

    assert send_event("customer.subscription.updated", sub).status_code == 200
    assert send_event("customer.subscription.updated", sub).status_code == 200  # again

    statuses = [p["data"]["access"]["status"] for p in events(ACCESS_CHANGED)]
    assert statuses == ["active", "past_due"]
    latest = events(ACCESS_CHANGED)[-1]
    assert latest["data"]["subject"] == f"user:{user.pk}"
    assert latest["data"]["access"]["stripe_status"] == "past_due"
    assert latest["data"]["access"]["features"] == ["community"]


def test_a_receiver_that_is_down_does_not_slow_the_webhook(
    user, subscribe, fake_stripe, send_event, endpoint_for, settings
):
    settings.EVENTS_TIMEOUT = 30.0  # were it sent inline, the webhook would wait on it
    sub = subscribe("pro_monthly", status="active")
    endpoint_for()  # nothing listens there
    fake_stripe.update(sub["id"], status="past_due")

    started = time.perf_counter()
    response = send_event("customer.subscription.updated", sub)
    took = time.perf_counter() - started

    assert response.status_code == 200
    assert took < 5
    [delivery] = Delivery.objects.all()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 0
    assert [job.status for job in jobs()] == ["todo"]


# --- session.ended from every way a session ends ------------------------------------


def test_sign_out_announces_the_session_by_its_digest_never_its_key(member, password, endpoint_for):
    endpoint_for()
    browser, session_key = sign_in(member, password)
    Event.objects.all().delete()  # sign-in rotated an earlier key of this user, if any

    assert browser.post(reverse("account_logout")).status_code == 302

    [payload] = events(SESSION_ENDED)
    digest = session_digest(session_key)
    assert payload["data"] == {
        "subject": f"user:{member.pk}",
        "user": {"id": member.pk},
        "session": {"id": digest},
        "reason": "ended",
    }
    assert state.session(member.pk, session_key).scope == f"s:{digest}"  # the state layer's name
    assert session_key not in Event.objects.get().body


def test_sign_out_other_devices_announces_each_other_session(member, password, endpoint_for):
    endpoint_for()
    laptop, _ = sign_in(member, password)
    _, phone_key = sign_in(member, password)
    _, tablet_key = sign_in(member, password)
    Event.objects.all().delete()

    assert laptop.post(reverse("usersessions_list")).status_code == 302

    ended = {p["data"]["session"]["id"] for p in events(SESSION_ENDED)}
    assert ended == {session_digest(phone_key), session_digest(tablet_key)}


def test_an_admin_ending_sessions_announces_them(member, password, endpoint_for):
    endpoint_for()
    _, session_key = sign_in(member, password)
    Event.objects.all().delete()

    assert accounts_services.sessions_end_all(user=member) == 1

    [payload] = events(SESSION_ENDED)
    assert payload["data"]["session"]["id"] == session_digest(session_key)


def test_an_idle_session_the_server_ends_is_announced(
    member, password, endpoint_for, settings, monkeypatch
):
    settings.SESSION_IDLE_TIMEOUT = 300
    endpoint_for()
    browser, session_key = sign_in(member, password)
    Event.objects.all().delete()
    later = time.time() + 301
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: later))

    browser.get(reverse("web:home"))

    [payload] = events(SESSION_ENDED)
    assert payload["data"]["session"]["id"] == session_digest(session_key)
    assert payload["data"]["reason"] == "ended"


def test_a_password_change_announces_the_rotated_key_of_this_session(
    member, password, endpoint_for
):
    endpoint_for()
    browser, session_key = sign_in(member, password)
    Event.objects.all().delete()

    response = browser.post(
        reverse("account_change_password"),
        {
            "oldpassword": password,
            "password1": "a new passphrase 42",
            "password2": "a new passphrase 42",
        },
    )

    assert response.status_code == 302
    reasons = {p["data"]["session"]["id"]: p["data"]["reason"] for p in events(SESSION_ENDED)}
    assert reasons == {session_digest(session_key): "rotated"}


def test_a_session_end_that_rolls_back_announces_nothing(member, password, endpoint_for):
    endpoint_for()
    sign_in(member, password)
    Event.objects.all().delete()

    def change() -> None:
        with transaction.atomic():
            assert accounts_services.sessions_end_all(user=member) == 1
            raise BoomError

    with pytest.raises(BoomError):
        change()

    assert Event.objects.count() == 0

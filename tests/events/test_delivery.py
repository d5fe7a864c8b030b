"""Delivery by the real worker process to a real receiver on loopback."""

import itertools
import time

import pytest
from django.db import connection, transaction

from apps.events import services
from apps.events.models import SESSION_ENDED, Delivery, Event
from tests.events.conftest import settled

pytestmark = pytest.mark.django_db(transaction=True)


def emit(user_id: int) -> Event:
    event = services.event_emit(
        event_type=SESSION_ENDED,
        user_id=user_id,
        data={"session": {"id": "0" * 32}, "reason": "ended"},
    )
    assert event is not None
    return event


def only_delivery(event: Event) -> Delivery:
    return Delivery.objects.get(event=event)


def test_the_worker_delivers_a_signed_event_the_receiver_verifies(
    user, receiver, endpoint_for, worker
):
    endpoint = endpoint_for(receiver)

    event = emit(user.pk)

    delivery = settled(only_delivery(event))
    assert delivery.status == Delivery.Status.DELIVERED
    [got] = receiver.wait_for(1)
    assert receiver.rejected == []
    assert got.headers["webhook-id"] == event.id
    assert got.payload["type"] == SESSION_ENDED
    assert got.payload["data"]["subject"] == f"user:{user.pk}"
    assert got.payload["data"]["user"] == {"id": user.pk}
    [attempt] = delivery.log.all()
    assert attempt.status_code == 200
    assert attempt.latency_ms > 0
    assert endpoint.secret.startswith("whsec_")


def test_a_receiver_answering_500_gets_retries_with_growing_waits_then_the_event(
    user, receiver, endpoint_for, worker
):
    endpoint_for(receiver)
    receiver.script = [500, 500]

    delivery = settled(only_delivery(emit(user.pk)))

    assert delivery.status == Delivery.Status.DELIVERED
    log = list(delivery.log.all())
    assert [a.status_code for a in log] == [500, 500, 200]
    assert [a.error for a in log] == ["HTTP 500", "HTTP 500", ""]
    waits = [later.started_at - earlier.started_at for earlier, later in itertools.pairwise(log)]
    # base 0.2 s, doubling, capped at 0.4 s, at least half the bound each time
    assert waits[0].total_seconds() >= 0.1
    assert waits[1].total_seconds() >= 0.2
    arrived = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in arrived}) == 1  # the same id every time
    assert len({r.headers["webhook-signature"] for r in arrived}) >= 1


def test_a_receiver_that_does_not_answer_in_time_is_retried(user, receiver, endpoint_for, worker):
    endpoint_for(receiver)
    receiver.script = ["hang"]

    delivery = settled(only_delivery(emit(user.pk)))

    assert delivery.status == Delivery.Status.DELIVERED
    first, second = delivery.log.all()
    assert first.status_code is None
    assert first.error == "no answer within 0.5 s"
    assert 450 <= first.latency_ms < 1500
    assert second.status_code == 200


def test_a_delivery_is_dead_after_the_cap_and_retry_now_sends_the_same_id(
    user, receiver, endpoint_for, worker
):
    endpoint_for(receiver)
    receiver.script = [503, 503, 503]
    event = emit(user.pk)

    delivery = settled(only_delivery(event))

    assert delivery.status == Delivery.Status.DEAD
    assert delivery.attempts == 3
    assert delivery.last_error == "HTTP 503"
    time.sleep(0.5)
    assert len(receiver.received) == 3  # nothing after the cap

    services.delivery_retry_now(delivery=delivery)
    delivery = settled(delivery)

    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 4
    ids = {r.headers["webhook-id"] for r in receiver.wait_for(4)}
    assert ids == {event.id}  # a receiver that had it already dedupes by webhook-id


def test_a_receiver_that_is_down_is_retried_until_dead(user, endpoint_for, worker):
    endpoint_for()  # nothing listens on its port

    delivery = settled(only_delivery(emit(user.pk)))

    assert delivery.status == Delivery.Status.DEAD
    errors = [a.error for a in delivery.log.all()]
    assert len(errors) == 3
    assert all(error.startswith("ConnectionError") for error in errors)


def test_a_delivery_whose_worker_died_mid_attempt_is_handed_to_a_live_worker(
    user, receiver, endpoint_for, worker
):
    """The periodic events.retry_stalled finds a job left "doing" by a worker that is gone."""
    endpoint_for(receiver)
    with transaction.atomic():
        event = emit(user.pk)
        delivery = only_delivery(event)
        with connection.cursor() as cursor:  # as a worker that was killed left it
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = %s",
                [delivery.job_id],
            )

    delivery = settled(delivery, timeout=90)

    assert delivery.status == Delivery.Status.DELIVERED
    assert [r.headers["webhook-id"] for r in receiver.wait_for(1)] == [event.id]

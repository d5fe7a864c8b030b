"""Writes for events: announce a change (in its transaction), deliver, retry, rotate.

`event_emit` runs inside the transaction of the change it tells of: the Event, a
Delivery per subscribed endpoint and each delivery's queue job commit or roll back with
it. `delivery_attempt` is what the worker runs for a job, once per attempt.
"""

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.billing.access.resolver import access_compute

from . import retry, sending
from .models import (
    ACCESS_CHANGED,
    SESSION_ENDED,
    AccessSent,
    Attempt,
    Delivery,
    Endpoint,
    Event,
    secret_generate,
)

logger = logging.getLogger(__name__)


def endpoints_for(event_type: str) -> list[Endpoint]:
    return list(Endpoint.objects.filter(is_active=True, event_types__contains=[event_type]))


def event_emit(*, event_type: str, user_id: int, data: dict[str, Any]) -> Event | None:
    """Record an event about user `user_id` for every active endpoint that wants it.

    Returns None (and writes nothing) when no endpoint does. Call it inside the
    change's transaction; the deliveries start once that commits.
    """
    endpoints = endpoints_for(event_type)
    if not endpoints:
        return None
    return _event_write(endpoints, event_type=event_type, user_id=user_id, data=data)


def _event_write(
    endpoints: list[Endpoint], *, event_type: str, user_id: int, data: dict[str, Any]
) -> Event:
    now = timezone.now()
    subject = f"user:{user_id}"
    payload = {
        "type": event_type,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"subject": subject, "user": {"id": user_id}, **data},
    }
    with transaction.atomic():
        event = Event.objects.create(
            id=f"evt_{uuid.uuid4().hex}",
            type=event_type,
            subject=subject,
            body=json.dumps(payload, separators=(",", ":"), sort_keys=True),
            created_at=now,
        )
        for endpoint in endpoints:
            delivery = Delivery.objects.create(
                event=event, endpoint=endpoint, last_attempt=settings.EVENTS_MAX_ATTEMPTS
            )
            _enqueue(delivery)
    return event


def _enqueue(delivery: Delivery) -> None:
    """Put a job for `delivery` in the queue, in the current transaction (Django's
    connection), and make it the one in charge."""
    from .tasks import deliver  # the task module imports this one

    delivery.job_id = deliver.defer(delivery_id=delivery.pk)
    delivery.save(update_fields=["job_id"])


def access_changed_announce(*, user_ids: frozenset[int]) -> None:
    """Announce each user's new Access, if it differs from the one announced last.

    Billing sends `access_changed` for any change that *may* have moved a user's
    Access (every webhook about them, a refresh); receivers hear only of real moves.
    The user's AccessSent row is locked before the Access is computed, so two
    concurrent changes announce in commit order and never the same Access twice.
    """
    endpoints = endpoints_for(ACCESS_CHANGED)
    if not endpoints:
        return
    with transaction.atomic():
        AccessSent.objects.bulk_create(
            [AccessSent(user_id=uid, access={}) for uid in sorted(user_ids)],
            ignore_conflicts=True,  # a row to lock, whoever inserted it first
        )
        sent = {
            row.user_id: row
            for row in AccessSent.objects.select_for_update().filter(user_id__in=user_ids)
        }
        for uid in sorted(sent):
            access = access_compute(uid).as_json()
            if sent[uid].access == access:
                continue
            sent[uid].access = access
            sent[uid].save(update_fields=["access", "updated_at"])
            _event_write(endpoints, event_type=ACCESS_CHANGED, user_id=uid, data={"access": access})


def session_ended_announce(*, user_id: int, session_id: str, rotated: bool) -> None:
    event_emit(
        event_type=SESSION_ENDED,
        user_id=user_id,
        data={"session": {"id": session_id}, "reason": "rotated" if rotated else "ended"},
    )


def delivery_attempt(*, delivery_id: int, job_id: int | None) -> None:
    """Make the next attempt of a delivery, if it is still owed and this job is in charge.

    A failed attempt that has attempts left raises retry.DeliveryFailedError with the
    time to try again (the queue retries the job then); the last one marks it dead.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("event", "endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (Delivery.Status.DELIVERED, Delivery.Status.DEAD):
            return
        if job_id is not None and delivery.job_id not in (None, job_id):
            return  # superseded by "retry now"
        if not delivery.endpoint.is_active:
            delivery.status, delivery.last_error = Delivery.Status.DEAD, "endpoint disabled"
            delivery.finished_at = timezone.now()
            delivery.save(update_fields=["status", "last_error", "finished_at"])
            return
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])  # claimed: a crash still counts it
    started_at = timezone.now()
    outcome = sending.post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        event_id=delivery.event_id,
        body=delivery.event.body,
    )
    _record(delivery, outcome, started_at=started_at)


def _record(delivery: Delivery, outcome: sending.Outcome, *, started_at: Any) -> None:
    Attempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started_at,
        latency_ms=outcome.latency_ms,
        status_code=outcome.status_code,
        error=outcome.error,
    )
    logger.log(
        logging.INFO if outcome.ok else logging.WARNING,
        "Event %s to endpoint %s: attempt %d %s in %.1f ms",
        delivery.event_id,
        delivery.endpoint_id,
        delivery.attempts,
        outcome.status_code if outcome.ok else outcome.error,
        outcome.latency_ms,
    )
    fields = ["status", "last_error", "next_attempt_at", "delivered_at", "finished_at"]
    delivery.last_error = outcome.error
    delivery.next_attempt_at = None
    if outcome.ok:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
        delivery.finished_at = delivery.delivered_at
        delivery.save(update_fields=fields)
        return
    if delivery.attempts >= delivery.last_attempt:
        delivery.status, delivery.finished_at = Delivery.Status.DEAD, timezone.now()
        delivery.save(update_fields=fields)
        raise retry.DeliveryFailedError(f"{outcome.error}; dead", retry_at=None)
    failures = delivery.attempts - (delivery.last_attempt - settings.EVENTS_MAX_ATTEMPTS)
    delay = retry.backoff_delay(max(1, failures))
    delivery.status = Delivery.Status.FAILING
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    delivery.save(update_fields=fields)
    raise retry.DeliveryFailedError(outcome.error, retry_at=delivery.next_attempt_at)


@transaction.atomic
def delivery_retry_now(*, delivery: Delivery) -> None:
    """Try a delivery again at once, with a fresh set of attempts (the admin's action).

    The same event, so the same webhook-id: a receiver that already has it dedupes.
    """
    found = Delivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if found is None:
        return  # pruned meanwhile (events_prune): nothing left to send
    delivery = found
    delivery.status = Delivery.Status.PENDING
    delivery.last_attempt = delivery.attempts + settings.EVENTS_MAX_ATTEMPTS
    delivery.next_attempt_at = delivery.finished_at = None  # owed again: never pruned
    delivery.save(update_fields=["status", "last_attempt", "next_attempt_at", "finished_at"])
    _enqueue(delivery)


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    """Give the endpoint a new signing secret and return it (shown once)."""
    endpoint.secret = secret_generate()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


PRUNE_BATCH = 1000  # rows per transaction: each batch holds its row locks only briefly
_FINISHED = (Delivery.Status.DELIVERED, Delivery.Status.DEAD)


def events_prune(*, now: datetime | None = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete what finished more than EVENTS_RETENTION_DAYS ago: delivered and dead
    deliveries (with their attempts), then events no delivery refers to any more, then
    the finished queue jobs of deliveries that are gone. Returns the deliveries deleted.

    A delivery still owed (pending, failing) has no `finished_at` and is never a
    candidate; "retry now" clears it. Each batch locks its rows first (skipping any an
    admin's "retry now" holds), so a delivery that becomes owed again is never deleted.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(status__in=_FINISHED, finished_at__lt=cutoff)
                .order_by("finished_at")
                .values_list("pk", flat=True)[:batch_size]
            )
            if ids:
                Delivery.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            break
    orphans = Event.objects.filter(created_at__lt=cutoff).exclude(
        Exists(Delivery.objects.filter(event=OuterRef("pk")))
    )
    while True:
        event_ids = list(orphans.order_by("created_at").values_list("pk", flat=True)[:batch_size])
        if event_ids:
            Event.objects.filter(pk__in=event_ids).exclude(
                Exists(Delivery.objects.filter(event=OuterRef("pk")))
            ).delete()
        if len(event_ids) < batch_size:
            break
    _finished_jobs_prune(batch_size=batch_size)
    if deleted:
        logger.info("Pruned %d finished deliveries (older than %s)", deleted, cutoff)
    return deleted


def _finished_jobs_prune(*, batch_size: int) -> None:
    """The queue keeps a failed job (a dead delivery's last, or one "retry now"
    superseded) for good (PROCRASTINATE_WORKER_DEFAULTS deletes successful ones only):
    delete those whose delivery is gone."""
    from .tasks import DELIVER  # the task module imports this one

    sql = f"""
        DELETE FROM {ProcrastinateJob._meta.db_table} WHERE id IN (
            SELECT job.id FROM {ProcrastinateJob._meta.db_table} job
            WHERE job.task_name = %s
              AND job.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
              AND NOT EXISTS (
                  SELECT 1 FROM {Delivery._meta.db_table} delivery
                  WHERE delivery.id = (job.args ->> 'delivery_id')::bigint
              )
            LIMIT %s
        )
    """  # noqa: S608 - table names from our models; the values are parameters
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [DELIVER, batch_size])
            if cursor.rowcount < batch_size:
                return

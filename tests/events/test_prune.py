"""events.prune: finished deliveries leave the log after EVENTS_RETENTION_DAYS; owed
ones never do."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.events import services, tasks
from apps.events.checks import check_retention
from apps.events.models import ACCESS_CHANGED, Attempt, Delivery, Event

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def make(user, endpoint_for):  # type: ignore[no-untyped-def]
    """make(status, finished_days_ago) -> a delivery (with an attempt) in that state."""
    endpoint = endpoint_for()

    def build(status: str, *, days_ago: float | None = None) -> Delivery:
        with transaction.atomic():
            event = services.event_emit(event_type=ACCESS_CHANGED, user_id=user.pk, data={})
        assert event is not None
        delivery = Delivery.objects.get(event=event, endpoint=endpoint)
        when = timezone.now() - timedelta(days=days_ago or 0)
        Attempt.objects.create(delivery=delivery, number=1, started_at=when, latency_ms=1.0)
        Event.objects.filter(pk=event.pk).update(created_at=when)
        finished = status in (Status.DELIVERED, Status.DEAD) and days_ago is not None
        Delivery.objects.filter(pk=delivery.pk).update(
            status=status, attempts=1, finished_at=when if finished else None
        )
        delivery.refresh_from_db()
        return delivery

    return build


def left(*deliveries: Delivery) -> list[bool]:
    return [Delivery.objects.filter(pk=d.pk).exists() for d in deliveries]


def test_finished_deliveries_past_retention_go_with_attempts_and_events(make, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    old_delivered = make(Status.DELIVERED, days_ago=31)
    old_dead = make(Status.DEAD, days_ago=45)
    recent = make(Status.DELIVERED, days_ago=29)

    assert services.events_prune() == 2

    assert left(old_delivered, old_dead, recent) == [False, False, True]
    assert not Attempt.objects.filter(delivery_id__in=[old_delivered.pk, old_dead.pk]).exists()
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.event_id]


def test_owed_deliveries_are_never_pruned_however_old(make, settings):
    settings.EVENTS_RETENTION_DAYS = 1
    pending = make(Status.PENDING, days_ago=400)
    failing = make(Status.FAILING, days_ago=400)

    assert services.events_prune() == 0

    assert left(pending, failing) == [True, True]
    assert Event.objects.count() == 2  # their events stay with them


def test_a_dead_delivery_retried_now_is_owed_again_and_kept(make, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    dead = make(Status.DEAD, days_ago=90)

    services.delivery_retry_now(delivery=dead)

    assert services.events_prune() == 0
    dead.refresh_from_db()
    assert (dead.status, dead.finished_at) == (Status.PENDING, None)


def test_it_deletes_in_batches_until_nothing_is_left(make, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    old = [make(Status.DELIVERED, days_ago=31 + n) for n in range(5)]
    kept = make(Status.DELIVERED, days_ago=1)

    with connection.execute_wrapper(_counting_deletes):
        _DELETES.clear()
        assert services.events_prune(batch_size=2) == 5

    assert left(*old, kept) == [False] * 5 + [True]
    # 5 deliveries, 2 at a time: three batches (each deletes attempts, then deliveries).
    assert sum(1 for sql in _DELETES if 'DELETE FROM "events_delivery"' in sql) == 3


_DELETES: list[str] = []


def _counting_deletes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    if sql.startswith("DELETE"):
        _DELETES.append(sql)
    return execute(sql, params, many, context)


def test_the_finished_queue_jobs_of_pruned_deliveries_go_too(make, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    old, recent = make(Status.DEAD, days_ago=31), make(Status.DEAD, days_ago=1)
    with connection.cursor() as cursor:  # as the worker leaves a dead delivery's last job
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = ANY(%s)",
            [[old.job_id, recent.job_id]],
        )
    pending = make(Status.PENDING)  # its job is still to do

    services.events_prune()

    remaining = set(ProcrastinateJob.objects.values_list("id", flat=True))
    assert old.job_id not in remaining
    assert {recent.job_id, pending.job_id} <= remaining


def test_delivered_at_and_dead_set_finished_at(user, endpoint_for, monkeypatch):
    """The worker's own writes make a delivery prunable (not only this test's updates)."""
    from apps.events import sending

    endpoint = endpoint_for()
    monkeypatch.setattr(
        sending, "post", lambda **kw: sending.Outcome(1.0, status_code=204, error="")
    )
    with transaction.atomic():
        event = services.event_emit(event_type=ACCESS_CHANGED, user_id=user.pk, data={})
    assert event is not None
    delivery = Delivery.objects.get(event=event, endpoint=endpoint)

    services.delivery_attempt(delivery_id=delivery.pk, job_id=delivery.job_id)

    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert delivery.finished_at == delivery.delivered_at is not None


def test_the_queue_prunes_once_an_hour_on_a_queue_a_worker_serves(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "events_prune", lambda **kwargs: calls.append(kwargs))
    task = app.tasks[tasks.PRUNE]
    periodic = [p for p in app.periodic_registry.periodic_tasks.values() if p.task is task]

    assert [p.cron for p in periodic] == ["23 * * * *"]
    assert task.queue in django_settings.PROCRASTINATE_WORKER_DEFAULTS["queues"]
    assert task.queueing_lock == tasks.PRUNE
    task(timestamp=0)
    assert calls == [{}]


@pytest.mark.parametrize("days", [0, -3])
def test_a_retention_under_a_day_fails_the_system_check_naming_it(days, settings):
    settings.EVENTS_RETENTION_DAYS = days

    errors = check_retention()

    assert [e.id for e in errors] == ["events.E001"]
    assert "EVENTS_RETENTION_DAYS" in errors[0].msg
    assert "events.E001" in {e.id for e in run_checks()}


def test_the_default_retention_passes(settings):
    assert django_settings.EVENTS_RETENTION_DAYS == 30
    assert check_retention() == []


def test_the_migration_dates_what_finished_before_finished_at_existed(make):
    """events 0002 backfills finished_at: a delivered one when it was delivered, a dead
    one at its last attempt; an owed one stays undated (never pruned)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.events.migrations.0002_delivery_finished_at")
    delivered, dead, pending = make(Status.DELIVERED), make(Status.DEAD), make(Status.PENDING)
    delivered_at = timezone.now() - timedelta(days=3)
    Delivery.objects.filter(pk=delivered.pk).update(delivered_at=delivered_at)
    Delivery.objects.update(finished_at=None)  # as every row was before the migration

    migration.finished_at_backfill(apps, None)

    found = dict(Delivery.objects.values_list("pk", "finished_at"))
    assert found[delivered.pk] == delivered_at
    assert found[dead.pk] == dead.log.get().started_at
    assert found[pending.pk] is None

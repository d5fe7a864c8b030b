""" "Last seen" stays off the hot path: a minute's bucket in Redis, written in batches.

What must hold: activity costs no session write and no round trip during the request; a
worker sends what it noted at most once a SESSION_SEEN_SEND_INTERVAL (or once SEND_AT
entries wait), in one round trip, and a send that is late still lands before its minute
is written; the rows move only forward, once per finished minute, by one worker;
a failed batch is retried; the sessions list shows the current minute at once; with Redis
down the row is written directly. The idle timeout keeps its own clock in the session.
"""

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.db.models.query import QuerySet
from django.urls import reverse
from procrastinate.contrib.django import app

from apps.accounts import last_seen, middleware, receivers, tasks
from tests.accounts.test_session_lifecycle import device, sign_in, visitor
from tests.redis_counter import count_round_trips

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The clock of the login stamp, the middleware and last_seen: stopped 5 s into a
    minute, moved by hand."""
    start = int(middleware.time.time()) // 60 * 60 + 5
    offset = SimpleNamespace(seconds=0, now=lambda: start + offset.seconds)
    for module in (middleware, receivers, last_seen):
        monkeypatch.setattr(
            module, "time", SimpleNamespace(time=offset.now, monotonic=time.monotonic)
        )
    return offset


@pytest.fixture
def browser(member, password, clock):  # type: ignore[no-untyped-def]
    client = device("Browser")
    client.session_key = sign_in(client, email=member.email, password=password)
    return client


def stored_session(session_key: str) -> tuple[str, datetime]:
    stored = Session.objects.get(session_key=session_key)
    return stored.session_data, stored.expire_date


def row(browser) -> datetime:  # type: ignore[no-untyped-def]
    return UserSession.objects.get(session_key=browser.session_key).last_seen_at


def minute_of(clock) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.fromtimestamp(clock.now() // 60 * 60, tz=UTC)


def test_activity_in_one_minute_costs_one_round_trip_and_no_session_write(browser, clock):
    """(The tests' SESSION_SEEN_SEND_INTERVAL is 0: each request sends what it noted.)"""
    visitor(browser)  # the first of this minute (and it caches the identity snapshot)
    stored = stored_session(browser.session_key)
    for clock.seconds in (10, 30, 50):
        with count_round_trips() as sent:
            visitor(browser)
        assert "PIPELINE" not in sent
        assert "SET" not in sent

    clock.seconds = 60
    with count_round_trips() as sent:
        visitor(browser)
    assert sent.count("PIPELINE") == 1  # HSET and EXPIRE
    assert stored_session(browser.session_key) == stored  # the session was never rewritten


def test_a_finished_minute_is_written_once_by_one_worker(browser, clock):
    at_login = row(browser)
    clock.seconds = 60
    visitor(browser)
    active_at = minute_of(clock)
    assert row(browser) == at_login  # nothing is written during the request

    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)
    assert row(browser) == active_at > at_login

    UserSession.objects.update(last_seen_at=at_login)
    last_seen.forget()  # another worker: its own memory, the same claims in Redis
    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)
    assert row(browser) == at_login


def test_a_row_only_moves_forward(browser, clock):
    clock.seconds = 60
    visitor(browser)
    later = datetime(2100, 1, 1, tzinfo=UTC)
    UserSession.objects.update(last_seen_at=later)

    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)

    assert row(browser) == later


def test_a_batch_that_meets_a_postgres_outage_is_written_by_the_next_look(
    browser, clock, monkeypatch
):
    clock.seconds = 60
    visitor(browser)
    failed = []
    real_update = QuerySet.update

    def fails_once(self, **kwargs):  # type: ignore[no-untyped-def]
        if not failed:
            failed.append(kwargs)
            raise DatabaseError("postgres is down")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", fails_once)
    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)
    assert failed
    assert row(browser) != minute_of(clock)
    last_seen.forget()  # the next look, by this worker or another

    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)

    assert row(browser) == minute_of(clock)


def test_the_sessions_list_shows_this_minute_without_waiting_for_the_batch(browser, clock):
    clock.seconds = 70
    visitor(browser)

    page = browser.get(reverse("usersessions_list"))

    assert page.status_code == 200
    assert row(browser) == minute_of(clock)
    assert minute_of(clock).isoformat() in page.content.decode()


def test_with_redis_down_the_row_is_written_directly(browser, clock, monkeypatch):
    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise last_seen.RedisError("redis is down")

    monkeypatch.setattr(last_seen, "get_redis_connection", down)
    clock.seconds = 60

    last_seen.record(browser.session_key, now=clock.now())
    last_seen.send()

    assert row(browser) == minute_of(clock)


def test_polling_records_nothing(browser, clock):
    at_login = row(browser)
    for clock.seconds in (60, 120, 180):
        browser.get(reverse("api_session"))

    last_seen.flush(now=clock.now() + 60 + last_seen.CLAIM_GRACE)

    assert row(browser) == at_login


def test_the_idle_clock_is_rewritten_a_24th_of_the_timeout_and_never_ends_a_session_late(
    settings, member, password, clock
):
    settings.SESSION_IDLE_TIMEOUT = 2400  # resolution: 100 s
    client = device("Browser")
    sign_in(client, email=member.email, password=password)
    assert middleware.idle_resolution() == 100

    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    visitor(client)
    stored = stored_session(session_key)
    clock.seconds = 99
    visitor(client)
    assert stored_session(session_key) == stored
    clock.seconds = 100
    visitor(client)
    assert stored_session(session_key) != stored  # the session, with its new idle clock

    clock.seconds = 199  # activity, but the idle clock (100) is not a resolution old
    rewritten = stored_session(session_key)
    visitor(client)
    assert stored_session(session_key) == rewritten

    clock.seconds = 100 + 2401  # 2,302 s after the last activity: early by < 100 s, not late
    assert not visitor(client).is_authenticated


def test_a_web_worker_never_writes_finished_minutes_between_requests(monkeypatch):
    # In a sync worker those UPDATEs (a row per member) would hold up the next request.
    looks = []
    monkeypatch.setattr(last_seen, "flush", lambda **kwargs: looks.append(kwargs))
    last_seen.record("a-session", now=time.time())
    last_seen.flush_due()
    assert looks == []


def test_the_queue_writes_finished_minutes_once_a_minute(monkeypatch):
    looks = []
    monkeypatch.setattr(last_seen, "flush", lambda **kwargs: looks.append(kwargs))
    task = app.tasks[tasks.LAST_SEEN_FLUSH]
    periodic = [p for p in app.periodic_registry.periodic_tasks.values() if p.task is task]

    assert [p.cron for p in periodic] == ["* * * * *"]
    assert task.queue in django_settings.PROCRASTINATE_WORKER_DEFAULTS["queues"]
    task(timestamp=0)
    assert looks == [{}]


def test_a_worker_sends_what_it_noted_once_an_interval_in_one_round_trip(settings, clock):
    settings.SESSION_SEEN_SEND_INTERVAL = 3600
    with count_round_trips() as sent:
        last_seen.record("a-session", now=clock.now())  # during a request: nothing sent
        assert sent == []
        last_seen.flush_due()  # after it: an idle worker sends at once
        for n in range(last_seen.SEND_AT - 1):
            last_seen.record(f"session-{n}", now=clock.now())
            last_seen.flush_due()  # within the interval: kept
    assert sent.count("PIPELINE") == 1

    with count_round_trips() as sent:
        last_seen.record("the-last-one", now=clock.now())  # SEND_AT waiting: sent now
        last_seen.flush_due()
    assert sent.count("PIPELINE") == 1
    minute = last_seen._key(last_seen._minute(clock.now()))
    bucket = last_seen.get_redis_connection("default").hgetall(minute)
    assert len(bucket) == last_seen.SEND_AT + 1


def test_a_late_send_lands_before_its_minute_is_written(browser, clock, settings):
    settings.SESSION_SEEN_SEND_INTERVAL = 3600
    clock.seconds = 114  # the last second of the minute after the sign-in's
    visitor(browser)  # noted; not sent, as the worker sent at sign-in

    last_seen.flush(now=clock.now() + 3)  # the minute just ended: not finished yet
    last_seen.send()  # the worker's late send
    last_seen.flush(now=clock.now() + 1 + last_seen.CLAIM_GRACE)

    assert row(browser) == minute_of(clock)


def test_the_sessions_list_sends_its_own_workers_notes_first(browser, clock, settings):
    settings.SESSION_SEEN_SEND_INTERVAL = 3600
    clock.seconds = 70
    visitor(browser)  # noted; not sent, as the worker sent at sign-in

    browser.get(reverse("usersessions_list"))

    assert row(browser) == minute_of(clock)

"""What one introspection costs on a warm path: no SQL, and no Redis round trip when this
worker thread's near cache holds the copies (two MGETs on another thread)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.near_cache import near_cache

from .conftest import session_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(browser, subscribe, introspect) -> str:  # type: ignore[no-untyped-def]
    subscribe("pro_monthly")
    token = session_id(browser)
    for _ in range(2):  # compute and write, then re-read so Redis tracks it for us
        assert introspect(token).json()["access"]["status"] == "active"
    return token


def test_a_warm_introspection_makes_no_sql_and_no_round_trip(warm, introspect, redis_round_trips):
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        body = introspect(warm).json()

    assert body["active"] is True
    assert [q["sql"] for q in queries.captured_queries] == []
    assert redis_round_trips == []


def test_on_another_thread_it_is_two_mgets_and_no_sql(warm, introspect, redis_round_trips):
    near_cache().clear()  # another worker thread: nothing near-cached
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        body = introspect(warm).json()

    assert body["active"] is True
    assert queries.captured_queries == []
    assert redis_round_trips == ["MGET", "MGET"]  # the service's credential, the session's


def test_an_unknown_token_costs_no_io_at_all(warm, introspect, redis_round_trips):
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        assert introspect("not-a-session").json() == {"active": False}

    assert queries.captured_queries == []
    assert redis_round_trips == []

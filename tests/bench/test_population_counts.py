"""What a gated request costs with many members, in round trips and queries (not time).

The population benchmark (bench/population.py) measures speed; this pins the counts it
depends on, at the populations it runs. Members rotate, so consecutive requests come from
different members, as in production:

- a worker meeting a member for the first time (Redis already holds their state): one
  MGET, no SQL;
- from then on, while Redis vouches for the worker's copies: no round trip, no SQL;
- "last seen": no round trip during a request, and one pipeline per SEND_AT new
  entries, however many members there are (apps/accounts/last_seen.py).
"""

import pytest
import stripe
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts import last_seen
from apps.core.near_cache import near_cache
from bench import members
from bench.variants import SESSION_COOKIE
from tests.redis_counter import count_round_trips

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_site(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stripe, "default_http_client", stripe.default_http_client)
    settings.ROOT_URLCONF = "bench.urls"
    settings.SESSION_COOKIE_NAME = SESSION_COOKIE
    settings.SESSION_SEEN_SEND_INTERVAL = 3600  # batches by size only: countable
    # Counts, not liveness: a slow CI machine must not let the copies' proof lapse,
    # nor a member's idle clock come due for its rewrite (once in 2 h) mid-test.
    settings.REDIS_NEAR_CACHE_LIVENESS = 600.0
    settings.SESSION_IDLE_TIMEOUT = 2 * 24 * 3600
    monkeypatch.setattr(members, "_idle_clock_period", lambda: 1)
    # One minute for "last seen" throughout: a slow pass crossing a minute boundary would
    # rightly note every member again (a new minute), which is not what is counted here.
    monkeypatch.setattr(last_seen, "_minute", lambda now: 0)


def visit_all(people: list[dict[str, str]]) -> None:
    """Every member's gated page once, one after the other."""
    client = Client()
    for person in people:
        client.cookies[SESSION_COOKIE] = person["session"]
        assert client.get("/bench/gated").status_code == 200


def pass_through(people: list[dict[str, str]]) -> tuple[list[str], int]:
    """`visit_all`: (Redis round trips, SQL queries)."""
    with CaptureQueriesContext(connection) as queries, count_round_trips() as sent:
        visit_all(people)
    return sent, len(queries)


@pytest.mark.parametrize("population", [1, 2_000])
def test_a_gated_request_costs_one_mget_at_first_sight_then_nothing(bench_site, population):
    people = members.crowd(population, progress=lambda line: None)
    visit_all(people)  # Access computed from Postgres and written to Redis
    near_cache().clear()  # a worker that has not met these members yet
    last_seen.forget()

    sent, queries = pass_through(people)

    assert queries == 0
    assert sent.count("MGET") == population
    # "last seen": the first note at once (an idle worker), then one send per SEND_AT
    assert sent.count("PIPELINE") == 1 + (population - 1) // last_seen.SEND_AT
    assert set(sent) <= {"MGET", "PIPELINE"}

    sent, queries = pass_through(people)  # the steady state

    assert (sent, queries) == ([], 0)

"""REDIS_SENTINELS' settings and system checks (core.E005-E007, and core.E003 accepting
Sentinel); apps/core/sentinel.py. The running topology is tests/topology/test_sentinel.py."""

import copy

import pytest

from apps.core import sentinel
from apps.core.checks import check_near_cache, check_redis_sentinel
from tests.settings_process import PRODUCTION_ENV, django_process

SENTINELS = ["10.0.0.5:26379", "10.0.0.6:26379", "sentinel-3.internal:26379"]


def on_sentinel(settings, entries=SENTINELS):  # type: ignore[no-untyped-def]
    settings.REDIS_SENTINELS = entries
    caches = copy.deepcopy(settings.CACHES)
    for alias in caches.values():
        alias["LOCATION"], alias["OPTIONS"] = sentinel.cache_alias(
            entries, service="tollgate", redis_url="redis://unused/0", options=alias["OPTIONS"]
        )
    settings.CACHES = caches


def test_entries_are_parsed_into_addresses_and_the_malformed_ones_named():
    addresses, malformed = sentinel.parse([*SENTINELS, " [::1]:26379", "10.0.0.9", "h:0", "h:x"])

    assert addresses == [
        ("10.0.0.5", 26379),
        ("10.0.0.6", 26379),
        ("sentinel-3.internal", 26379),
        ("::1", 26379),
    ]
    assert malformed == ["10.0.0.9", "h:0", "h:x"]


def test_both_aliases_use_django_redis_sentinel_support_and_keep_their_options(settings):
    options = {"PARSER_CLASS": "p", "SOCKET_TIMEOUT": 0.5, "SERIALIZER": "s"}

    location, sentinel_options = sentinel.cache_alias(
        SENTINELS, service="billing", redis_url="redis://ignored:6379/3", options=options
    )

    assert location == "redis://billing/3"
    assert sentinel_options["CLIENT_CLASS"] == "apps.core.sentinel.SentinelClient"
    assert sentinel_options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert sentinel_options["SENTINELS"][0] == ("10.0.0.5", 26379)
    assert {k: sentinel_options[k] for k in options} == options


def test_a_sentinel_configuration_passes_every_check(settings):
    on_sentinel(settings)

    assert check_redis_sentinel() == []
    assert check_near_cache() == []  # core.E003 accepts Sentinel


def test_a_malformed_entry_is_an_error_naming_redis_sentinels(settings):
    on_sentinel(settings, [SENTINELS[0], "10.0.0.6"])

    errors = check_redis_sentinel()

    assert [e.id for e in errors] == ["core.E005"]
    assert "REDIS_SENTINELS" in errors[0].msg
    assert "10.0.0.6" in errors[0].msg


def test_sentinel_with_cluster_is_an_error_naming_both(settings):
    on_sentinel(settings)
    settings.REDIS_CLUSTER = True

    errors = check_redis_sentinel()

    assert [e.id for e in errors] == ["core.E006"]
    assert "REDIS_SENTINELS" in errors[0].msg
    assert "REDIS_CLUSTER" in errors[0].msg


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_WAIT_REPLICAS", 0),
        ("REDIS_WAIT_TIMEOUT", 0),  # WAIT 0 would block until the replicas answer
        ("REDIS_WAIT_TIMEOUT", 500),  # as long as the socket timeout: it would give up first
    ],
)
def test_a_wait_out_of_range_is_an_error_naming_it(settings, name, value):
    on_sentinel(settings)
    setattr(settings, name, value)

    errors = check_redis_sentinel()

    assert [e.id for e in errors] == ["core.E007"]
    assert name in errors[0].msg


def test_without_sentinels_nothing_is_checked(settings):
    settings.REDIS_SENTINELS = []
    settings.REDIS_WAIT_REPLICAS = 0

    assert check_redis_sentinel() == []


@pytest.mark.parametrize(
    ("entries", "passes"), [("127.0.0.1:26379,127.0.0.1:26380", True), ("nope", False)]
)
def test_redis_sentinels_in_production_configures_both_aliases_or_fails_the_check(entries, passes):
    code = (
        "from django.conf import settings; from django.core.management import call_command; "
        "print(sorted({(a['LOCATION'], a['OPTIONS']['CLIENT_CLASS']) "
        "for a in settings.CACHES.values()})); "
        "call_command('check')"
    )
    variables = {
        **PRODUCTION_ENV,
        "REDIS_URL": "redis://unused:6379/2",
        "REDIS_SENTINELS": entries,
        "REDIS_SENTINEL_SERVICE": "billing",
    }
    result = django_process(code, **variables)

    assert "[('redis://billing/2', 'apps.core.sentinel.SentinelClient')]" in result.stdout, (
        result.stderr
    )
    assert (result.returncode == 0) is passes, result.stderr
    if not passes:
        assert "core.E005" in result.stderr
        assert "REDIS_SENTINELS" in result.stderr


def test_a_primary_that_moves_again_while_owed_rows_are_paid_is_paid_for_again():
    sentinel.forget()
    try:
        sentinel._saw(("10.0.0.5", 6379))  # a process's first primary counts as new
        first = sentinel.primary_moved()
        assert first is not None
        sentinel._saw(("10.0.0.6", 6379))  # a failover noticed during that payment
        sentinel.settled(first)
        again = sentinel.primary_moved()
        assert again is not None
        sentinel.settled(again)
        assert sentinel.primary_moved() is None
    finally:
        sentinel.forget()

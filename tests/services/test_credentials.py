"""Service credentials: stored as a digest, shown once, rotated with an overlap, revoked."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.errors import ApplicationError
from apps.services import credentials, services
from apps.services.models import Service

pytestmark = pytest.mark.django_db


def authenticates(client_id: str, secret: str) -> bool:
    return credentials.authenticate(client_id, secret) is not None


def test_a_new_service_keeps_only_a_digest_of_its_secret(issued):
    row = Service.objects.get(pk=issued.service.pk)

    assert issued.secret.startswith("tgs_")
    assert len(issued.secret) > 40  # 256 random bits
    assert row.secret_digest == credentials.digest(issued.secret)
    assert issued.secret not in str(Service.objects.filter(pk=row.pk).values().get())
    assert "tgs_" not in repr(issued)
    assert credentials.is_client_id(row.client_id)


def test_only_the_right_secret_authenticates(issued):
    client_id = issued.service.client_id

    assert authenticates(client_id, issued.secret)
    assert not authenticates(client_id, issued.secret + "x")
    assert not authenticates(client_id, "")
    assert not authenticates("svc_" + "0" * 24, issued.secret)
    assert not authenticates("not a client id", issued.secret)


def test_rotation_keeps_the_old_secret_for_the_overlap_only(issued):
    client_id = issued.service.client_id
    rotated = services.service_secret_rotate(service=issued.service, overlap=timedelta(hours=1))

    assert rotated.secret != issued.secret
    assert authenticates(client_id, rotated.secret)
    assert authenticates(client_id, issued.secret)  # inside the overlap

    later = time.time() + 3601
    credential = credentials.credential_for(client_id)
    assert credential is not None
    assert credential.accepts(rotated.secret, now=later)
    assert not credential.accepts(issued.secret, now=later)  # the overlap ended


def test_a_second_rotation_ends_the_first_secret_at_once(issued):
    first = issued.secret
    second = services.service_secret_rotate(service=issued.service).secret
    third = services.service_secret_rotate(service=issued.service).secret

    client_id = issued.service.client_id
    assert authenticates(client_id, third)
    assert authenticates(client_id, second)
    assert not authenticates(client_id, first)


def test_rotation_without_overlap_ends_the_old_secret_at_once(issued):
    rotated = services.service_secret_rotate(service=issued.service, overlap=timedelta(0))

    assert authenticates(issued.service.client_id, rotated.secret)
    assert not authenticates(issued.service.client_id, issued.secret)


def test_the_default_overlap_comes_from_the_setting(issued, settings):
    settings.SERVICES_SECRET_OVERLAP = "2h"
    rotated = services.service_secret_rotate(service=issued.service)

    until = rotated.service.previous_secret_valid_until
    assert until is not None
    assert abs((until - rotated.service.rotated_at).total_seconds() - 7200) < 1


def test_revoking_refuses_every_secret_at_once_even_when_cached(
    issued, django_capture_on_commit_callbacks
):
    client_id = issued.service.client_id
    rotated = services.service_secret_rotate(service=issued.service)
    assert authenticates(client_id, rotated.secret)  # now cached (and near-cached)
    assert authenticates(client_id, rotated.secret)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.service_revoke(service=issued.service) is True

    assert not authenticates(client_id, rotated.secret)
    assert not authenticates(client_id, issued.secret)
    assert services.service_revoke(service=issued.service) is False  # already revoked


def test_a_revoked_service_cannot_be_rotated_back_to_life(issued):
    services.service_revoke(service=issued.service)

    with pytest.raises(ApplicationError, match="revoked"):
        services.service_secret_rotate(service=issued.service)


def test_a_cached_credential_needs_no_sql(issued, redis_round_trips):
    client_id = issued.service.client_id
    assert authenticates(client_id, issued.secret)  # a miss: Postgres, then cached
    assert authenticates(client_id, issued.secret)  # re-read, so Redis tracks it
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        assert authenticates(client_id, issued.secret)

    assert queries.captured_queries == []
    assert redis_round_trips == []


def test_a_rotation_is_seen_on_the_next_check_despite_the_cache(
    issued, django_capture_on_commit_callbacks
):
    client_id = issued.service.client_id
    assert authenticates(client_id, issued.secret)
    assert authenticates(client_id, issued.secret)

    with django_capture_on_commit_callbacks(execute=True):
        rotated = services.service_secret_rotate(service=issued.service, overlap=timedelta(0))

    assert authenticates(client_id, rotated.secret)
    assert not authenticates(client_id, issued.secret)


def test_the_thread_that_cached_a_credential_reads_it_without_a_round_trip(
    issued, redis_round_trips
):
    """The miss's write goes through the near cache (SET and read-back in one round
    trip), as every other cached value does, so the writing thread keeps a tracked copy."""
    client_id = issued.service.client_id

    with CaptureQueriesContext(connection) as queries:
        assert authenticates(client_id, issued.secret)  # a miss: Postgres, then cached
    assert len(queries.captured_queries) == 1
    assert redis_round_trips == ["MGET", "SET"]
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        assert authenticates(client_id, issued.secret)

    assert queries.captured_queries == []
    assert redis_round_trips == []

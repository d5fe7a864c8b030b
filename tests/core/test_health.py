import logging

import pytest
from django.conf import settings
from django.test import override_settings

from apps.core import health
from tests.reliability.conftest import RedisServer, _private_redis


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(health, "_warned_policies", set())


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client):
    closed_port = {
        alias: {**config, "LOCATION": "redis://127.0.0.1:1/0"}
        for alias, config in settings.CACHES.items()
    }
    with override_settings(CACHES=closed_port):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"


def test_every_response_carries_a_request_id_and_one_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="tollgate.request"):
        response = client.get("/healthz")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tollgate.request"]
    assert "method=GET path=/healthz status=200" in line
    assert f"request_id={request_id}" in line


def test_a_proxys_request_id_is_kept_only_when_it_looks_like_one(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-0123456789abcdef"})
    assert kept["X-Request-ID"] == "lb-0123456789abcdef"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\nforged log line"})
    assert replaced["X-Request-ID"] != "bad id\nforged log line"


@pytest.fixture
def redis_with(settings, tmp_path):  # type: ignore[no-untyped-def]
    """redis_with("--maxmemory-policy", "allkeys-lru"): a private redis-server for the caches."""
    servers = []

    def start(*args: str) -> RedisServer:
        running = _private_redis(settings, str(tmp_path), *args)
        servers.append(running)
        return next(running)

    yield start
    for running in servers:
        next(running, None)  # stops the server


@pytest.mark.django_db
def test_readyz_warns_once_about_an_eviction_policy_that_can_evict_generations(
    client, redis_with, caplog
):
    redis_with("--maxmemory-policy", "allkeys-lru")

    with caplog.at_level(logging.WARNING, logger="apps.core.health"):
        first = client.get("/readyz")
        second = client.get("/readyz")

    assert first.status_code == second.status_code == 200
    body = first.json()
    assert body["status"] == "ok"
    assert body["redis_eviction_policy"] == "allkeys-lru"
    [warning] = body["warnings"]
    assert "allkeys-lru" in warning
    assert "noeviction or volatile-ttl" in warning
    assert second.json()["warnings"] == [warning]
    logged = [r.getMessage() for r in caplog.records if r.name == "apps.core.health"]
    assert logged == [warning]


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["noeviction", "volatile-ttl"])
def test_readyz_accepts_the_safe_eviction_policies(client, redis_with, policy):
    redis_with("--maxmemory-policy", policy)

    body = client.get("/readyz").json()

    assert body["redis_eviction_policy"] == policy
    assert body["warnings"] == []


@pytest.mark.django_db
def test_readyz_says_unknown_when_redis_refuses_config(client, redis_with):
    redis_with("--rename-command", "CONFIG", '""')

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["redis_eviction_policy"] == "unknown"
    assert response.json()["warnings"] == []

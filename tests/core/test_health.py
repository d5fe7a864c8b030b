import logging

import pytest
from django.conf import settings
from django.test import override_settings


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

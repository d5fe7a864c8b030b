"""SQL queries and Redis round trips for one request of each variant (in-process)."""

from typing import Any

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bench.variants import SESSION_COOKIE, VARIANTS, Variant
from tests.redis_counter import count_round_trips


def _client(variant: Variant, cookies: dict[str, str]) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    if variant.cookie == "session":
        client.cookies[SESSION_COOKIE] = cookies["session"]
    elif variant.cookie == "jwt":
        client.cookies["jwt"] = cookies["jwt"]
    return client


def _one(variant: Variant, cookies: dict[str, str]) -> dict[str, Any]:
    client = _client(variant, cookies)
    client.get(variant.path)  # warm: the measured request is the steady state
    client.get(variant.path)  # (and re-reads whatever the first one wrote)
    with CaptureQueriesContext(connection) as queries, count_round_trips() as sent:
        response = client.get(variant.path)
    assert response.status_code == 200, (variant.name, response.status_code)
    return {"sql": len(queries), "redis": len(sent), "commands": sent}


def per_request(cookies: dict[str, str]) -> dict[str, dict[str, Any]]:
    from bench.settings_stock import MIDDLEWARE as STOCK_MIDDLEWARE
    from bench.settings_stock import SESSION_ENGINE as STOCK_SESSIONS

    results = {}
    for variant in VARIANTS:
        if variant.name == "stock_session":
            with override_settings(MIDDLEWARE=STOCK_MIDDLEWARE, SESSION_ENGINE=STOCK_SESSIONS):
                results[variant.name] = _one(variant, cookies)
        else:
            results[variant.name] = _one(variant, cookies)
    return results

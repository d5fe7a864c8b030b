"""Liveness and readiness for load balancers and orchestrators."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. No I/O, so a slow dependency never restarts it."""
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    get_redis_connection("default").ping()


CHECKS = {"postgres": _check_postgres, "redis": _check_redis}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Can this instance serve traffic? 200 when every dependency answers, else 503 naming it."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the class name is enough
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)

"""Liveness and readiness for load balancers and orchestrators."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from .activity import not_activity

logger = logging.getLogger(__name__)

# Under memory pressure, any other policy may evict a generation key (7-day TTL) while a
# value it made unreadable (1-hour TTL at most) survives; the value then reads as current.
# volatile-ttl evicts the keys closest to expiry first (from a sample), which are the
# values, not the week-long generations; noeviction refuses writes instead.
SAFE_EVICTION_POLICIES = frozenset({"noeviction", "volatile-ttl"})
_warned_policies: set[str] = set()


@not_activity
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


def _redis_eviction_policy() -> str:
    """Redis's maxmemory-policy, or "unknown" where CONFIG is renamed or not allowed."""
    try:
        answer = get_redis_connection("default").config_get("maxmemory-policy")
    except RedisError:
        return "unknown"
    return str(answer.get("maxmemory-policy") or "unknown")


def _eviction_warnings(policy: str) -> list[str]:
    if policy == "unknown" or policy in SAFE_EVICTION_POLICIES:
        return []
    warning = (
        f"Redis maxmemory-policy is {policy}: it may evict a generation key before the "
        "cached values it guards, so a revoked grant could be served. Set noeviction "
        "or volatile-ttl."
    )
    if policy not in _warned_policies:  # once per process, not on every probe
        _warned_policies.add(policy)
        logger.warning(warning)
    return [warning]


@not_activity
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Can this instance serve traffic? 200 when every dependency answers, else 503 naming it.

    Also reports Redis's eviction policy, with a warning when it is not a safe one."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the class name is enough
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    failing = [name for name, result in results.items() if result != "ok"]
    # An unsafe eviction policy is a warning, not a 503: it is the same on every instance,
    # so failing readiness would take the whole site down over a risk that needs memory
    # pressure to matter.
    policy = "unknown" if "redis" in failing else _redis_eviction_policy()
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": results,
        "redis_eviction_policy": policy,
        "warnings": _eviction_warnings(policy),
    }
    return JsonResponse(body, status=503 if failing else 200)

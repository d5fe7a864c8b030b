"""Start-up checks for the near cache (apps/core/near_cache.py), a Redis Cluster
(apps/core/redis_cluster.py), Redis Sentinel (apps/core/sentinel.py) and a Postgres
standby (DATABASE_REPLICA_URL), naming the variable."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from . import redis_cluster, sentinel

# One member's page reads four keys: fewer copies than that could never be served.
MIN_KEYS = 4
_TRACKABLE_SCHEMES = ("redis://", "rediss://", "unix://")


@register("caches")
def check_near_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.REDIS_NEAR_CACHE:
        return []
    errors: list[CheckMessage] = []
    if not settings.REDIS_NEAR_CACHE_LIVENESS > 0:
        errors.append(
            Error(
                "REDIS_NEAR_CACHE_LIVENESS must be a number of seconds above 0.",
                hint="The default is 1.0; set REDIS_NEAR_CACHE=off to turn the cache off.",
                id="core.E001",
            )
        )
    if settings.REDIS_NEAR_CACHE_MAX_KEYS < MIN_KEYS:
        errors.append(
            Error(
                f"REDIS_NEAR_CACHE_MAX_KEYS must be at least {MIN_KEYS}.",
                hint="The default is 20000 copies per worker thread.",
                id="core.E002",
            )
        )
    location = str(settings.CACHES["default"]["LOCATION"])
    trackable = location.startswith(_TRACKABLE_SCHEMES)
    if not trackable and not sentinel.configured(settings.CACHES):
        errors.append(
            Error(
                "The near cache connects to REDIS_URL directly and needs a redis://, "
                "rediss:// or unix:// URL.",
                hint="For Sentinel set REDIS_SENTINELS; otherwise set REDIS_NEAR_CACHE=off.",
                id="core.E003",
            )
        )
    return errors


@register("caches")
def check_redis_cluster(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """REDIS_CLUSTER=on: REDIS_URL must name one node of the Cluster, database 0."""
    if not redis_cluster.configured():
        return []
    location = urlsplit(str(settings.CACHES["default"]["LOCATION"]))
    if location.scheme in ("redis", "rediss") and location.path.strip("/") in ("", "0"):
        return []
    return [
        Error(
            "With REDIS_CLUSTER=on, REDIS_URL must be a redis:// or rediss:// URL of one "
            "Cluster node, with no database number other than 0.",
            hint="For example REDIS_URL=redis://10.0.0.5:6379 (a Cluster has only "
            "database 0); or set REDIS_CLUSTER=off.",
            id="core.E004",
        )
    ]


@register("caches")
def check_redis_sentinel(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """REDIS_SENTINELS: host:port entries, not with REDIS_CLUSTER, a WAIT that can answer."""
    if not settings.REDIS_SENTINELS:
        return []
    errors: list[CheckMessage] = []
    _, malformed = sentinel.parse(list(settings.REDIS_SENTINELS))
    if malformed:
        errors.append(
            Error(
                f"REDIS_SENTINELS must be a comma-separated list of host:port; "
                f"not {', '.join(repr(entry) for entry in malformed)}.",
                hint="For example REDIS_SENTINELS=10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379.",
                id="core.E005",
            )
        )
    if settings.REDIS_CLUSTER:
        errors.append(
            Error(
                "REDIS_SENTINELS and REDIS_CLUSTER=on cannot be used together.",
                hint="A Cluster fails over by itself: set one of them.",
                id="core.E006",
            )
        )
    timeout_ms = float(settings.CACHES["default"].get("OPTIONS", {}).get("SOCKET_TIMEOUT") or 0)
    timeout_ms *= 1000
    if settings.REDIS_WAIT_REPLICAS < 1 or not 0 < settings.REDIS_WAIT_TIMEOUT < timeout_ms:
        errors.append(
            Error(
                "With REDIS_SENTINELS, REDIS_WAIT_REPLICAS must be at least 1 and "
                "REDIS_WAIT_TIMEOUT a number of milliseconds above 0 and below "
                f"REDIS_SOCKET_TIMEOUT ({timeout_ms:.0f} ms).",
                hint="An invalidation waits for that many replicas (default 1) for at most "
                "that long (default 100 ms), or stays owed until they have it.",
                id="core.E007",
            )
        )
    return errors


@register("database")
def check_database_replica(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A DATABASE_REPLICA_URL that settings could not turn into the `replica` alias."""
    if not settings.DATABASE_REPLICA_URL or "replica" in settings.DATABASES:
        return []
    return [
        Error(
            "DATABASE_REPLICA_URL must be a postgres:// URL with a database name, "
            "e.g. postgres://user:password@standby-host:5432/tollgate.",
            hint="Leave DATABASE_REPLICA_URL empty to read everything from DATABASE_URL.",
            id="core.E010",
        )
    ]

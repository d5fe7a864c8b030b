"""The standby router (apps/core/db_router.py) without a standby: settings, the check,
and which code may ask for it. tests/topology/test_standby.py runs it on a real one."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from apps.core import db_router

ROOT = Path(__file__).resolve().parents[2]
# The only reads allowed to ask for the standby: the pricing page's catalog. Access,
# sessions, webhooks and every write never name it.
CHOOSERS = {"apps/web/views.py": "standby_read", "apps/billing/selectors.py": ".using("}


def _settings_with(replica_url: str) -> dict[str, Any]:
    """DATABASES, DATABASE_ROUTERS and the check's errors, as an app started with this
    DATABASE_REPLICA_URL has them."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "from apps.core.checks import check_database_replica as check; "
        "print(json.dumps({'aliases': sorted(s.DATABASES), "
        "'replica': s.DATABASES.get('replica'), "
        "'routers': getattr(s, 'DATABASE_ROUTERS', []), "
        "'errors': [[e.id, e.msg] for e in check()]}))"
    )
    done = subprocess.run(  # noqa: S603 - our own argv
        [sys.executable, "-W", "ignore", "-c", code],
        cwd=ROOT,
        env={**os.environ, "DATABASE_REPLICA_URL": replica_url},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_without_a_replica_url_every_read_is_the_primarys(settings):
    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    assert db_router.read_alias() == "default"


def test_a_replica_url_adds_the_alias_and_the_router():
    made = _settings_with("postgres://reader@standby.internal:5433/tollgate?sslmode=require")

    assert made["aliases"] == ["default", "replica"]
    replica = made["replica"]
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == (
        "standby.internal",
        5433,
        "tollgate",
    )
    assert replica["OPTIONS"] == {"connect_timeout": 2, "sslmode": "require"}
    assert replica["TEST"]["MIRROR"] == "default"
    assert made["routers"] == ["apps.core.db_router.PrimaryUnlessChosenRouter"]
    assert made["errors"] == []


@pytest.mark.parametrize("url", ["not-a-url", "redis://cache:6379/0", "postgres://standby:5432"])
def test_a_bad_replica_url_adds_nothing_and_fails_the_check_naming_the_variable(url):
    made = _settings_with(url)

    assert made["aliases"] == ["default"]
    assert [error_id for error_id, _ in made["errors"]] == ["core.E010"]
    assert "DATABASE_REPLICA_URL" in made["errors"][0][1]


def test_standby_read_without_a_standby_reads_the_primary_once():
    asked: list[str] = []

    assert db_router.standby_read(lambda db: asked.append(db) or "rows") == "rows"
    assert asked == ["default"]


def test_standby_read_falls_back_to_the_primary_when_the_standby_fails(monkeypatch, caplog):
    monkeypatch.setattr(db_router, "read_alias", lambda: "replica")
    asked: list[str] = []

    def read(db: str) -> str:
        asked.append(db)
        if db == "replica":
            raise OperationalError("canceling statement due to conflict with recovery")
        return "rows"

    assert db_router.standby_read(read) == "rows"
    assert asked == ["replica", "default"]
    assert "DATABASE_REPLICA_URL" in caplog.text


def test_the_router_writes_to_the_primary_and_never_migrates_the_standby():
    router = db_router.PrimaryUnlessChosenRouter()

    assert router.db_for_read(object) is None  # Django's default: the primary
    assert router.db_for_write(object) == "default"
    assert router.allow_migrate("default", "billing") is True
    assert router.allow_migrate("replica", "billing") is False


def test_only_the_pricing_catalog_asks_for_the_standby():
    sources = {
        str(path.relative_to(ROOT)): path.read_text()
        for path in sorted((ROOT / "apps").rglob("*.py"))
        if path.name != "db_router.py"
    }
    asking = {
        name
        for name, text in sources.items()
        if "read_alias" in text or "db_router" in text or ".using(" in text
    }

    assert asking == {*CHOOSERS, "apps/core/apps.py"}  # apps.py: the per-request reset
    for name, marker in CHOOSERS.items():
        assert marker in sources[name]

"""scripts/createdb.py creates the database the configured settings use."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def _maintenance() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or None,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    )


def _exists(name: str) -> bool:
    with _maintenance() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


@pytest.fixture
def database_names() -> Iterator[tuple[str, str]]:
    """(the name the settings module uses, the name DATABASE_URL says); both dropped after."""
    run = secrets.token_hex(4)
    names = (f"tollgate_createdb_settings_{run}", f"tollgate_createdb_url_{run}")
    yield names
    with _maintenance() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _createdb(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/createdb.py"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_createdb_creates_the_database_of_the_settings_module_not_database_url(database_names):
    settings_name, url_name = database_names
    db = settings.DATABASES["default"]
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.scripts.createdb_settings",
        "CREATEDB_CHECK_NAME": settings_name,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{url_name}",
    }

    first = _createdb(**env)
    second = _createdb(**env)

    assert first.returncode == 0, first.stderr
    assert f"created database {settings_name!r}" in first.stdout
    assert _exists(settings_name)
    assert not _exists(url_name)
    assert second.returncode == 0, second.stderr
    assert f"database {settings_name!r} exists" in second.stdout

"""Create the database the Django settings use, if it does not exist yet (local use).

The name, host, port and user come from the configured settings module
(DJANGO_SETTINGS_MODULE, default `config.settings.local`, as for `manage.py`), so this
creates exactly the database that `migrate` and the server will connect to, however
those settings build it (DATABASE_URL, a `.env`, or an override in the module).
"""

import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


def configured_database() -> dict[str, str]:
    """The default database's settings, read from Django's configured DATABASES."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django
    from django.conf import settings

    django.setup()
    database: dict[str, str] = settings.DATABASES["default"]
    return database


def main() -> int:
    database = configured_database()
    name = database["NAME"]
    maintenance = psycopg.connect(
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    with maintenance:
        exists = maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone():
            print(f"createdb: database {name!r} exists")
            return 0
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"createdb: created database {name!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

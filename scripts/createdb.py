"""Create the database named in DATABASE_URL if it does not exist yet (local use)."""

import os
import sys

import environ
import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tollgate"


def main() -> int:
    environ.Env.read_env(".env", overwrite=False)
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    config = environ.Env.db_url_config(url)
    name = config["NAME"]
    maintenance = psycopg.connect(
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
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

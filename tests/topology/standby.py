"""A Postgres primary and a streaming standby of it, made for the tests and removed after.

The machine's cluster (port 5432) accepts no replication connections, and CI depends on
its configuration, so nothing here changes it: the harness makes its own primary with
`initdb` on PRIMARY_PORT, copies a migrated database into it (the test database, read
with pg_dump over an ordinary connection), takes a base
backup of it with `pg_basebackup -R -X stream` as a standby on STANDBY_PORT, starts that,
and waits until it has replayed everything. Postgres refuses to run as root, so as root
every server command runs as the `postgres` user, in a temporary directory it owns.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path:
    """PG_BIN if set, else the newest Debian Postgres server's binaries (15 here)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
PRIMARY_PORT = 5441
STANDBY_PORT = 5442
DATABASE = "tollgate"
_BINARIES = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql", "postgres")
# Throwaway servers: durability is not under test, so nothing waits for the disk.
_SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
max_connections = 40
shared_buffers = 16MB
fsync = off
synchronous_commit = off
"""


class StandbyError(RuntimeError):
    """The topology could not be made; the message says what to install or free."""


def _url(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"


@dataclass(frozen=True)
class Standby:
    primary_url: str = _url(PRIMARY_PORT)
    standby_url: str = _url(STANDBY_PORT)

    def query(self, url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.execute(sql, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def wait_replayed(self, *, timeout: float = 15.0) -> None:
        """Return once the standby has replayed everything the primary has written."""
        (lsn,) = self.query(self.primary_url, "SELECT pg_current_wal_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(
                self.standby_url, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn
            )
            if rows[0][0]:
                return
            if time.monotonic() > deadline:
                raise StandbyError(f"the standby did not replay up to {lsn}")
            time.sleep(0.02)

    def pause_replay(self) -> None:
        """Stop the standby applying WAL (it keeps receiving it), until `resume_replay`."""
        self.query(self.standby_url, "SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.query(self.standby_url, "SELECT pg_get_wal_replay_pause_state()")[0][0] != (
            "paused"
        ):
            if time.monotonic() > deadline:
                raise StandbyError("the standby did not pause its replay")
            time.sleep(0.02)

    def resume_replay(self) -> None:
        self.query(self.standby_url, "SELECT pg_wal_replay_resume()")


def _binaries_present() -> None:
    missing = [name for name in _BINARIES if not (PG_BIN / name).exists()]
    if missing:
        raise StandbyError(
            f"Postgres server binaries not found in {PG_BIN} ({', '.join(missing)}): "
            "install them with 'apt-get install postgresql-15', or set PG_BIN to their "
            "directory."
        )


def _port_free(port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise StandbyError(
                f"port {port} is taken (a server left by an earlier run? "
                f"'{PG_BIN}/pg_ctl stop -D <its data directory>' ends it)"
            )


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own argv
        _as_server_user(argv), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StandbyError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")


def _start(data: Path, log: Path) -> None:
    try:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30", "start"])
    except StandbyError as error:  # the server's own log says why; it goes with the directory
        server_log = log.read_text() if log.exists() else ""
        raise StandbyError(f"{error}\n{log.name}:\n{server_log}") from None


def _stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run(  # noqa: S603 - our own argv
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )


def _copy_database(source_url: str, target_url: str) -> None:
    """Copy a migrated database (schema and rows) with pg_dump | psql: a fraction of the
    time `manage.py migrate` takes on this machine."""
    dump = subprocess.Popen(  # noqa: S603 - our own argv
        [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", source_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    load = subprocess.run(  # noqa: S603 - our own argv
        [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-X", target_url],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    _, dump_errors = dump.communicate()
    if dump.returncode != 0 or load.returncode != 0:
        raise StandbyError(
            f"copying {source_url} failed:\n{dump_errors.decode()}{load.stdout}{load.stderr}"
        )


@contextmanager
def standby(*, schema_from: str) -> Iterator[Standby]:
    """A primary holding a copy of the migrated database `schema_from` (a URL on any
    server, e.g. the test database) and a standby streaming from it; both stopped and
    deleted after."""
    _binaries_present()
    for port in (PRIMARY_PORT, STANDBY_PORT):
        _port_free(port)
    root = Path(tempfile.mkdtemp(prefix="tollgate-standby-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, replica = root / "primary", root / "standby"
    topology = Standby()
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
              "--no-sync", "--no-locale", "-E", "UTF8"])  # fmt: skip
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(_SERVER_SETTINGS.format(sockets=root) + f"port = {PRIMARY_PORT}\n")
        _start(primary, root / "primary.log")
        server = f"postgres://postgres@127.0.0.1:{PRIMARY_PORT}/postgres"
        topology.query(server, f"CREATE DATABASE {DATABASE}")
        _copy_database(schema_from, topology.primary_url)
        _run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(PRIMARY_PORT),
              "-U", "postgres", "-D", str(replica), "-R", "-X", "stream",
              "--checkpoint=fast", "--no-sync"])  # fmt: skip
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {STANDBY_PORT}\n")
        _start(replica, root / "standby.log")
        topology.wait_replayed()
        yield topology
    finally:
        _stop(replica)
        _stop(primary)
        shutil.rmtree(root, ignore_errors=True)

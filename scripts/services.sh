#!/usr/bin/env bash
# Make sure Postgres and Redis answer on 127.0.0.1, starting the local servers if they
# are installed but stopped. Fails with a message saying how to start them otherwise.
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_for() {  # wait_for NAME CHECK: up to 15 s
  for _ in $(seq 1 30); do "$2" && return 0; sleep 0.5; done
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  if ! wait_for postgres pg_up; then
    echo "services: PostgreSQL does not answer on $PG_HOST:$PG_PORT." >&2
    echo "  Start it (e.g. 'pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start'" >&2
    echo "  or 'sudo systemctl start postgresql'), or set DATABASE_URL to a server that runs." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no || true
  fi
  if ! wait_for redis redis_up; then
    echo "services: Redis does not answer on 127.0.0.1:$REDIS_PORT." >&2
    echo "  Start it (e.g. 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379')" >&2
    echo "  or set REDIS_URL to a server that runs." >&2
    exit 1
  fi
fi
echo "services: PostgreSQL and Redis answer"

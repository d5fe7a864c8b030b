# Tollgate: `make run` serves the site, `make test` runs every check CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

# `manage.py check --deploy` reads production settings; these dummies only satisfy them.
DEPLOY_CHECK_ENV := DJANGO_SETTINGS_MODULE=config.settings.production \
	SECRET_KEY=deploy-check-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate \
	REDIS_URL=redis://127.0.0.1:6379/0 ALLOWED_HOSTS=tollgate.example.com

.PHONY: run dev test lint typecheck services chromium node wrk valgrind db demo bench bench-population bench-instructions bench-webhooks soak soak-hosts clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

services:
	@scripts/services.sh

# The events worker (apps/events: deliveries to other services) runs beside the web
# server: started in the background, stopped (SIGTERM, then waited for) when it stops.
WITH_WORKER = $(BIN)/python manage.py procrastinate worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM;

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
		|| { echo "Could not install chromium; install it with 'apt-get install chromium'." >&2; exit 1; }; }

# The provider browser tests sign in at a real OpenID Provider (panva's oidc-provider from
# the npm registry, pinned by its package-lock.json), run by node.
OIDC_PEER := tests/accounts/oidc_peer
node:
	@command -v npm >/dev/null || { echo "installing Debian's nodejs and npm for the OpenID Provider tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null \
		|| { echo "Could not install node; install it with 'apt-get install nodejs npm'." >&2; exit 1; }; }

$(OIDC_PEER)/node_modules/.package-lock.json: $(OIDC_PEER)/package.json $(OIDC_PEER)/package-lock.json | node
	npm ci --prefix $(OIDC_PEER) --no-audit --no-fund --loglevel=error

db: $(VENV)/.runtime-installed services
	@$(BIN)/python scripts/createdb.py

## run: install, migrate, load demo data, serve with gunicorn on 127.0.0.1:$(PORT), + the events worker
run: export DJANGO_SETTINGS_MODULE := config.settings.local
run: db
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_load
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops); the demo accounts and what to try are above."
	@$(WITH_WORKER) $(BIN)/gunicorn -c config/gunicorn.conf.py config.wsgi

## dev: runserver with autoreload (and the events worker), for development
dev: export DJANGO_SETTINGS_MODULE := config.settings.local
dev: db
	$(BIN)/python manage.py migrate --noinput
	@$(WITH_WORKER) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy apps config

## test: lint, types, migrations, deploy check, then pytest on real Postgres + Redis
test: export DJANGO_SETTINGS_MODULE := config.settings.test
test: $(VENV)/.dev-installed db chromium $(OIDC_PEER)/node_modules/.package-lock.json lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_CHECK_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/pytest

# Benchmarks run against real Postgres/Redis on 127.0.0.1 with wrk (Debian's package).
wrk:
	@command -v wrk >/dev/null || { echo "installing Debian's wrk for the benchmarks"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null \
		|| { echo "Could not install wrk; install it with 'apt-get install wrk'." >&2; exit 1; }; }

## bench: gated page vs bare, stock session auth and JWT (see bench/README.md)
bench: $(VENV)/.dev-installed services wrk
	$(BIN)/python bench/run.py

## bench-population: 1/2,000/10,000 members rotating, 1/2/4 workers (see bench/README.md)
bench-population: $(VENV)/.dev-installed services wrk
	$(BIN)/python bench/population.py
	$(BIN)/python bench/stages.py --members 10000
	$(BIN)/python bench/memory.py

valgrind:
	@command -v valgrind >/dev/null || { echo "installing Debian's valgrind for the instruction counts"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind) >/dev/null \
		|| { echo "Could not install valgrind; install it with 'apt-get install valgrind'." >&2; exit 1; }; }

## bench-instructions: instructions per request (callgrind), bare vs JWT vs gated: load-proof
bench-instructions: $(VENV)/.dev-installed services valgrind
	$(BIN)/python bench/instructions.py

## soak: 60 s of members on gated pages while webhooks flip their plans; 0 stale grants,
## and how long each revocation took to reach its member
soak: $(VENV)/.dev-installed services
	$(BIN)/python bench/soak.py --seconds 60

## soak-hosts: the soak across three app hosts in network namespaces (root): webhooks on
## A, members on B and C behind delayed, jittery Redis links; per host, 0 stale grants
soak-hosts: $(VENV)/.dev-installed services
	$(BIN)/python bench/soak_hosts.py --seconds 60

## bench-webhooks: signed webhooks per second through one sync worker, and what bounds it
bench-webhooks: $(VENV)/.dev-installed services
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/webhook_profile.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles $(OIDC_PEER)/node_modules

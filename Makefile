# The two commands a newcomer needs: `make run` and `make test`; `make serve` starts production.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000
# Demo data goes into the embedded SQLite database only; DEMO=1 loads it into the database
# DATABASE_URL names too (and seed_demo still refuses one that holds real orders).
DEMO ?= $(if $(DATABASE_URL),0,1)

.PHONY: run setup serve test test-long install compile lint format bench bench-smoke worker beat

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

install: $(UV)
	$(UV) sync --frozen

## Set up (below), then serve for development.
run: setup
	@echo "Admin: http://$(HOST):$(PORT)/admin/   API: http://$(HOST):$(PORT)/api/"
	DEBUG=$${DEBUG:-1} $(UV) run python manage.py runserver $(HOST):$(PORT)

## Install, migrate, load demo data once (embedded database, or DEMO=1), and make a local staff
## login only when the database has no superuser. Never changes an existing user.
setup: install
	DEBUG=$${DEBUG:-1} $(UV) run python manage.py migrate --no-input
	@if [ "$(DEMO)" = 1 ]; then DEBUG=$${DEBUG:-1} $(UV) run python manage.py seed_demo --if-empty; \
	else echo "Demo data not loaded: DATABASE_URL names your own database (make run DEMO=1 loads it)."; fi
	@DEBUG=$${DEBUG:-1} $(UV) run python manage.py createlocaladmin

## Production: migrate, collect static files, then gunicorn with DEBUG off on $(HOST):$(PORT)
## (bin/serve; SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and the rest from .env.example).
serve: install
	HOST=$(HOST) PORT=$(PORT) $(UV) run bin/serve

## A Celery worker: relays the outbox, delivers webhooks and emails, runs tracking imports.
## Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0); start the app with the same REDIS_URL.
## Run as many as you like, on as many machines; CONCURRENCY sets its processes (default: cores).
worker: install
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-1} $(UV) run celery -A shop worker -l info $(if $(CONCURRENCY),-c $(CONCURRENCY))

## The schedule (Celery beat): the sweep that retries deliveries, confirming delivered orders.
## Exactly one per shop.
beat: install
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-1} $(UV) run celery -A shop beat -l info

## The whole test suite (PostgreSQL when DATABASE_URL points at it or one answers locally), with
## the property, fuzz, load and import tests at their quick sizes (docs/testing.md). The
## benchmarks' end-to-end runs are `make bench-smoke` (CI runs both).
test: install compile
	$(UV) run pytest -n auto -m "not bench" $(PYTEST_ARGS)

## The same suite with the long sizes: more hypothesis examples and steps, the longer load test,
## the 10,000-row import (docs/testing.md; expect several times as long as `make test`).
test-long: install compile
	HYPOTHESIS_PROFILE=long $(UV) run pytest -n auto -m "not bench" $(PYTEST_ARGS)

## The project's own modules compiled to bytecode (as `install` does for the packages), so that
## each of the processes the tests start does not compile them again.
compile: install
	$(UV) run python -m compileall -q -j 0 manage.py bench events fulfillment orders returns shop staff tests

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports
	DEBUG=1 $(UV) run python manage.py makemigrations --check --dry-run

format: install
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

## The full benchmark: build 1,000,000 orders into the PostgreSQL database "bench", then measure
## (a few minutes; see bench/README.md). BENCH_ARGS passes options, e.g. BENCH_ARGS=--profile.
bench: install
	$(UV) run python -m bench.run --orders 1000000 --generate $(BENCH_ARGS)

## The benchmarks' smoke, as CI runs it: each benchmark (reads and checkout against the floor,
## events, scaling out) end to end on tiny data in throw-away databases.
bench-smoke: install compile
	$(UV) run pytest -n auto -m bench $(PYTEST_ARGS)

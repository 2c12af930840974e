# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format bench bench-smoke worker beat

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

install: $(UV)
	$(UV) sync --frozen

## Install, migrate the embedded database, load demo data once, print a staff login, serve.
run: install
	DEBUG=$${DEBUG:-1} $(UV) run python manage.py migrate --no-input
	@DEBUG=$${DEBUG:-1} $(UV) run python manage.py seed_demo --if-empty
	@DEBUG=$${DEBUG:-1} $(UV) run python manage.py createlocaladmin
	@echo "Admin: http://$(HOST):$(PORT)/admin/   API: http://$(HOST):$(PORT)/api/"
	DEBUG=$${DEBUG:-1} $(UV) run python manage.py runserver $(HOST):$(PORT)

## A Celery worker: relays the outbox, delivers webhooks and emails, runs tracking imports.
## Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0); start the app with the same REDIS_URL.
## Run as many as you like, on as many machines; CONCURRENCY sets its processes (default: cores).
worker: install
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-1} $(UV) run celery -A shop worker -l info $(if $(CONCURRENCY),-c $(CONCURRENCY))

## The schedule (Celery beat): the sweep that retries deliveries, confirming delivered orders.
## Exactly one per shop.
beat: install
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-1} $(UV) run celery -A shop beat -l info

## The whole test suite (PostgreSQL when DATABASE_URL points at it or one answers locally).
test: install
	$(UV) run pytest $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	DEBUG=1 $(UV) run python manage.py makemigrations --check --dry-run

format: install
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

## The full benchmark: build 1,000,000 orders into the PostgreSQL database "bench", then measure
## (a few minutes; see bench/README.md). BENCH_ARGS passes options, e.g. BENCH_ARGS=--profile.
bench: install
	$(UV) run python -m bench.run --orders 1000000 --generate $(BENCH_ARGS)

## The benchmark's smoke, as CI runs it: 1,000 orders in a throw-away database, end to end.
bench-smoke: install
	$(UV) run pytest -q tests/bench

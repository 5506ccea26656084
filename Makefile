# Every target runs the Node 22 that `npm ci` puts in node_modules/.bin (the machine's own Node may be older).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
CLI := node bin/prefect-server.js
INSTALLED := node_modules/.package-lock.json

.PHONY: dev test install build infra services migrate bench bench-quick lint typecheck unit e2e e2e-venv compose-up compose-down compose-config clean

## dev: run the whole server (infrastructure, migrations, every service in one process) until Ctrl-C
dev: build
	$(CLI) start --single-process

## test: lint, type-check and run every test suite
test: lint typecheck unit

$(INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED)

## build: compile the services to JavaScript in dist/ (a few seconds; the CLI runs it while no source is newer)
build: $(INSTALLED)
	npm run --silent build

## infra: bring up Postgres and Redis (configured, docker compose or embedded) and apply migrations
infra: $(INSTALLED)
	$(CLI) dev infrastructure

## services: run the services against running infrastructure (SERVICES_ARGS="-i gateway,towel")
services: $(INSTALLED)
	$(CLI) dev services $(SERVICES_ARGS)

## migrate: apply pending database migrations to the configured database
migrate: $(INSTALLED)
	$(CLI) database upgrade --yes

## bench: the benchmark suite (it builds the services first); results go to docs/benchmarks.md
bench: $(INSTALLED)
	node bench/run.ts

## bench-quick: smoke run of the benchmark suite (small data, under a minute)
bench-quick: $(INSTALLED)
	node bench/run.ts --quick

# lint also checks that the resolvers' generated types match the mutations service's SDL (`npm run codegen`)
lint: $(INSTALLED)
	eslint .
	graphql-codegen --config services/mutations/codegen.yml --check --silent

typecheck: $(INSTALLED)
	tsc --noEmit

# The end-to-end suite (tests/e2e) drives the real Prefect Core 1.4.1 client from a virtualenv in tests/.venv; it is
# built here, before vitest starts, so its first build (a few minutes) does not count against the tests' timeouts.
unit: $(INSTALLED) e2e-venv
	vitest run

## e2e-venv: build the Prefect Core 1.4.1 virtualenv for the end-to-end tests (once per tests/e2e/requirements.txt)
e2e-venv: $(INSTALLED)
	node tests/e2e/venv.ts

## e2e: only the end-to-end tests with the real Prefect Core client
e2e: $(INSTALLED) e2e-venv
	vitest run tests/e2e

## compose-up: the full stack with Docker (needs a Docker engine)
compose-up:
	docker compose up -d --build

compose-down:
	docker compose down

## compose-config: check compose.yml and compose.dev.yml (placeholder passwords where none are set)
compose-config:
	POSTGRES_PASSWORD=$${POSTGRES_PASSWORD:-placeholder} REDIS_PASSWORD=$${REDIS_PASSWORD:-placeholder} docker-compose -f compose.yml config --quiet
	docker-compose -f compose.dev.yml config --quiet

clean:
	rm -rf node_modules .prefect-server coverage

# The two commands of the README: `make up` (the main job, embedded backend) and `make test`.
VENV ?= .venv
BACKEND ?= embedded
PYTEST_ARGS ?=
RUN ?= local
LOCAL_IMAGES = --pg-image harness-local/pgvector:pg18 --redis-image harness-local/redis:7

.PHONY: up down test test-docker images lint bench bench-quick setup

setup:
	@scripts/bootstrap.sh

up: setup
	$(VENV)/bin/harness up --backend $(BACKEND)

down: setup
	$(VENV)/bin/harness down

test: setup
	$(VENV)/bin/pytest -n auto --backend $(BACKEND) $(PYTEST_ARGS)

images:
	@scripts/bootstrap.sh --docker
	$(VENV)/bin/harness images build

test-docker: images
	$(VENV)/bin/pytest -n auto --backend docker $(LOCAL_IMAGES) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check harness plugins/betterprompts suites loadtests
	$(VENV)/bin/ruff format --check harness plugins/betterprompts suites loadtests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# benchmarks + a headless Locust run + `harness report`, into reports/$(RUN)/
bench: setup
	scripts/bench.sh $(RUN)

bench-quick: setup
	scripts/bench.sh $(RUN) --quick

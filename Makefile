# Herald: `make run` serves the API locally against moto; `make test` runs lint and the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint format clean demo

$(STAMP): requirements.txt requirements-vendor.txt requirements-dev.txt sdk/python/pyproject.toml \
		requirements-lambda-runtime.txt requirements-checkov.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	rm -rf $(VENV)/lambda-runtime
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-compile \
		--target $(VENV)/lambda-runtime -r requirements-lambda-runtime.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python -m chalicelib.local

# From nothing to a significant A/B test in the console: starts its own local Herald on a free
# port (or reuses HERALD_URL + HERALD_ROOT_KEY), simulates devices, prints the console URL and
# admin key, and keeps serving until Ctrl-C (sdk/python/README.md).
demo: $(STAMP)
	$(VENV)/bin/python sdk/python/examples/demo.py $(DEMO_ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest -n auto --dist loadgroup

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# --- AWS deployment (docs/DEPLOY.md) ---------------------------------------------------------
# `make infra` after adding a table, a route, a function or a consumer; review and commit the diff.
STAGE ?= dev
REGION_FLAG = $(if $(REGION),--region $(REGION))

.PHONY: infra openapi deploy package redrive destroy

infra: $(STAMP)
	$(VENV)/bin/python -m deploy infra

openapi: $(STAMP)
	$(VENV)/bin/python -m deploy openapi --output openapi.json

deploy: $(STAMP)
	$(VENV)/bin/python -m deploy deploy --stage $(STAGE) $(REGION_FLAG) \
		$(foreach parameter,$(PARAMETERS),--parameter $(parameter))

package: $(STAMP)
	$(VENV)/bin/python -m deploy package --stage $(STAGE)

# Put the events dead-letter queue's messages back on the events queue (docs/OPERATIONS.md).
redrive: $(STAMP)
	$(VENV)/bin/python -m deploy redrive --stage $(STAGE) $(REGION_FLAG)

destroy: $(STAMP)
	$(VENV)/bin/python -m deploy destroy --stage $(STAGE) $(REGION_FLAG)

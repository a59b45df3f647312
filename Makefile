# Two commands on a fresh machine with only python3 and make: `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= $(shell command -v python3.12 || command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen

.PHONY: run test lint typecheck contracts pytest setup bench clean

run: setup
	$(RUN) zhida demo

test: setup lint typecheck contracts pytest

setup: .venv/.synced

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: setup
	$(RUN) mypy

contracts: setup
	$(RUN) lint-imports

pytest: setup
	$(RUN) pytest

bench: setup
	$(RUN) python bench/latency.py

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache

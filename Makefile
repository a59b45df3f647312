# Two commands on a fresh machine with only python3 and make: `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# The first Python 3.11/3.12 that really runs (pyenv shims exist for versions that are not active).
# Its real path, not a shim's, so that uv never sees two interpreters and rebuilds .venv.
PY_OK := import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13); print(sys.executable)
export UV_PYTHON ?= $(shell for p in python3 python3.12 python3.11; do \
	$$p -c '$(PY_OK)' 2>/dev/null && break; done)
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# Extras: postgres always; spark (pyspark, ≈ 480 MB, and Java 17) only with `make test SPARK=1`,
# which also runs the tests marked `spark` (deselected otherwise: a clone without the extra passes).
WITH_SPARK := $(filter 1,$(SPARK))
EXTRAS := postgres $(if $(WITH_SPARK),spark)
EXTRA_FLAGS := $(foreach e,$(EXTRAS),--extra $(e))
SYNCED := .venv/.synced$(if $(WITH_SPARK),-spark)
RUN := $(UV) run --frozen $(EXTRA_FLAGS)
MARKERS := $(if $(WITH_SPARK),,-m "not spark")

.PHONY: run test lint typecheck contracts pytest setup bench bench-spark clean

# The main job on the embedded default (SQLite in data/, demo data): the demo village, then a
# synthetic county imported and swept (run it twice: the second import and sweep change nothing),
# one user per role (passwords printed once), then the service: API and scheduler, until Ctrl-C.
DEMO := data/demo
HOST ?= 127.0.0.1
PORT ?= 8000
run: setup
	$(RUN) zhida demo
	@test -f $(DEMO)/households.xlsx || $(RUN) zhida demo-data --households 3000 --enterprises 300 --out $(DEMO)
	$(RUN) zhida import households $(DEMO)/households.xlsx --on 2025-03-01
	$(RUN) zhida import enterprises $(DEMO)/enterprises.xlsx --on 2025-03-01
	$(RUN) zhida sweep --on 2025-03-01
	$(RUN) zhida report outcomes --region 520602 --on 2025-03-01
	$(RUN) zhida audit verify
	$(RUN) zhida demo-users --county 520602
	$(RUN) zhida serve --host $(HOST) --port $(PORT)

test: setup lint typecheck contracts pytest

setup: $(SYNCED)

.tools/bin/uv:
	@test -n "$(UV_PYTHON)" || { echo "zhida needs Python 3.11 or 3.12 (python3, python3.12 or python3.11)"; exit 1; }
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# One stamp per set of extras: switching sets syncs again (an exact sync: a package of the
# other set is removed), so `make test` after `make test SPARK=1` runs without pyspark.
$(SYNCED): uv.lock pyproject.toml | $(UV)
	@rm -f .venv/.synced .venv/.synced-*
	$(UV) sync --frozen $(EXTRA_FLAGS) --compile-bytecode
	@# bytecode as an installed wheel has it (the environment may set PYTHONDONTWRITEBYTECODE)
	$(RUN) python -m compileall -q rules matcher sheets synth store jobs api cli
	@touch $@

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: setup
	$(RUN) mypy

contracts: setup
	$(RUN) lint-imports

# Two workers (the machine has two cores); each starts its own PostgreSQL cluster. Work is
# stolen test by test, so the few long property and crash tests do not queue behind each other.
pytest: setup
	$(RUN) pytest -n 2 --dist worksteal $(MARKERS)

bench: setup
	$(RUN) python bench/latency.py
	$(RUN) python bench/engines.py
	$(RUN) python bench/profile_vector.py
	$(RUN) python bench/batch.py
	$(RUN) python bench/exact_path.py
	$(RUN) python bench/cli_startup.py
	$(RUN) python bench/sqlite_race.py

# The Spark sweep against the local one (JVM start ≈ 20 s): `make bench-spark SPARK=1`.
bench-spark: setup
	$(RUN) python bench/spark_sweep.py

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache

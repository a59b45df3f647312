"""`zhida --help` answers at once: the CLI imports no heavy package until a command runs.

Timing is measured in bench/cli_startup.py (figures in the issue notes); here the cause is
checked instead, deterministically: after `zhida --help` in a fresh interpreter, none of the
packages that cost time (the ORM, numpy, spreadsheets, YAML, rich, our engines) is loaded.
(pydantic is not on the list: typer ≥ 0.20 itself loads it to convert a command's options.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "numpy",
    "openpyxl",
    "pyarrow",
    "yaml",
    "rich",
    "durable",
    "rules.catalogue",
    "matcher.interpreter.match",
    "store.db",
)

_PROBE = """
import json, sys
from cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(*args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["import", "--help"], ["sweep", "--help"]])
def test_help_loads_no_heavy_package(args: list[str]) -> None:
    loaded = _loaded(*args)
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


def test_lint_loads_neither_database_nor_spreadsheets() -> None:
    loaded = _loaded("lint", "policies/dibao.yaml")
    assert "rules.catalogue" in loaded  # the probe really ran the command
    for m in ("sqlalchemy", "openpyxl", "numpy", "pyarrow", "durable"):
        assert m not in loaded, m


def test_sweep_default_chunk_is_the_store_default() -> None:
    from cli.sweep import DEFAULT_CHUNK
    from store.sweep.run import DEFAULT_CHUNK as STORE_CHUNK

    assert DEFAULT_CHUNK == STORE_CHUNK

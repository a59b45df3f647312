"""An installed zhida — a wheel, outside the checkout — finds its packaged catalogue.

The wheel is built with `uv build` (as a release would be), unpacked into a temporary folder
and run from there with the checkout's dependencies but not its sources: `zhida policies`
must list the same catalogue as the checkout's `policies/`, and `ZHIDA_POLICIES` or
`--policies` must still choose another one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rules.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `uv run` (make test) names itself in UV; otherwise uv on PATH or the one make installed
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("zhida-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def _zhida(site: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "ZHIDA_POLICIES"}
    return subprocess.run(
        [sys.executable, "-c", "from cli import app; app()", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(site), **env},
        capture_output=True,
        text=True,
    )


def test_the_wheel_carries_the_catalogue_and_uses_it_by_default(
    unpacked: Path, tmp_path: Path
) -> None:
    run = _zhida(unpacked, tmp_path, "policies")
    assert run.returncode == 0, run.stderr
    expected = load_catalogue(ROOT / "policies")
    assert f"{len(expected.policies)} 项" in run.stdout
    assert expected.version in run.stdout
    probe = _zhida(unpacked, tmp_path, "--help")
    assert probe.returncode == 0
    where = subprocess.run(
        [sys.executable, "-c", "import cli.base; print(cli.base.DEFAULT_ROOT)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == unpacked / "cli" / "catalogue"


def test_zhida_policies_chooses_another_catalogue(unpacked: Path, tmp_path: Path) -> None:
    other = ROOT / "tests" / "fixtures" / "policies_min"
    run = _zhida(unpacked, tmp_path, "policies", ZHIDA_POLICIES=str(other))
    assert run.returncode == 0, run.stderr
    assert f"{len(load_catalogue(other).policies)} 项" in run.stdout
    by_option = _zhida(unpacked, tmp_path, "policies", "--policies", str(other))
    assert by_option.stdout == run.stdout

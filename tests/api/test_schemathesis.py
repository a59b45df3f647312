"""schemathesis against a real `zhida serve` on loopback, with a token for each role.

Its command-line tool (DELIVERY.md: its in-process ASGI mode and its pytest plugin both fail
here) generates requests from the OpenAPI schema — examples, boundary values, then fuzzing —
and checks every answer: no 5xx, a documented status, a documented content type, a body that
conforms to the schema, documented headers. Bounded examples per operation, a fixed seed
(a failure reproduces with the command printed in the assertion), one server of its own
(fuzzing writes), one run per role.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.server import Seeded, Server, start_server

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])  # fmt: skip
# The user of each role (tests/api/server.py), the phases run with its token and the examples
# per operation. The county reaches most of the API, so it gets the coverage phase (every
# boundary and missing or malformed parameter of every operation: most of the run's requests)
# and 2 fuzzed examples an operation. The other roles are fuzzed with 1 example an operation:
# their answers are mostly 403 and 404, and what their run proves — every operation answers
# that role with a documented status, content type, headers and schema, never a 5xx — takes one
# request per operation (a second one doubled their run, mostly for another 403 or 404).
# (The schema holds no examples, so there is no examples phase.)
ROLES = {
    "anonymous": (None, "fuzzing", 1),
    "village": ("cun", "fuzzing", 1),
    "township": ("xiang", "fuzzing", 1),
    "county": ("xian", "coverage,fuzzing", 2),
    "department": ("bumen0", "fuzzing", 1),
    "enterprise": ("qiye", "fuzzing", 1),
    "policy_writer": ("zhengce", "fuzzing", 1),
    "supervisor": ("ducha", "fuzzing", 1),
}


@pytest.fixture(scope="module")
def fuzzed(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Server:
    server = start_server(seeded, tmp_path_factory.mktemp("schemathesis"))
    yield server  # type: ignore[misc]
    server.stop()


def _st() -> str:
    found = Path(sys.executable).parent / "st"
    return str(found) if found.exists() else shutil.which("st") or "st"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_answer_conforms_to_the_schema_and_none_is_a_500(
    fuzzed: Server, role: str, tmp_path: Path
) -> None:
    user, phases, examples = ROLES[role]
    headers = ["-H", f"Authorization: Bearer {fuzzed.login(user)}"] if user else []
    args = [
        _st(), "run", f"{fuzzed.base_url}/schema/openapi.json", *headers,
        "--checks", CHECKS, "--max-examples", str(examples), "--seed", "20261130",
        "--phases", phases, "--workers", "1",
        "--request-timeout", "60", "--no-color", "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False,
                          cwd=tmp_path)  # its cache (.schemathesis/) goes there  # fmt: skip
    shown = " ".join(a if not a.startswith("Authorization") else "Authorization: Bearer …"
                     for a in args)  # fmt: skip
    assert done.returncode == 0, f"{shown}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert "operations" in done.stdout.lower() or "passed" in done.stdout.lower(), done.stdout

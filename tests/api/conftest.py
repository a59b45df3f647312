"""Fixtures of the API tests: the seeded template (once per process) and a shared server.

`api` is one server per test process for tests that only read, or that change only objects
they own (each picks its own household or claim); a test that needs a database of its own
calls `start_server(seeded, tmp_path)` itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.server import Seeded, Server, seed_template, start_server


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_template(tmp_path_factory.mktemp("api-template"))


@pytest.fixture(scope="session")
def api(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(seeded, tmp_path_factory.mktemp("api-server"))
    try:
        yield server
    finally:
        server.stop()

"""Fixtures for the server suite: HTTP clients against real ``keel server`` processes.

Most tests share the session ``server`` (SQLite) from ``tests/conftest.py`` and use fresh
experiments; tests that look at the server's files, kill it or load it start their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess
from server.support import create_experiment, create_run


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def exp_id(api: httpx.Client) -> str:
    return create_experiment(api)


@pytest.fixture
def run_id(api: httpx.Client, exp_id: str) -> str:
    return create_run(api, exp_id)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own over SQLite under ``tmp_path/srv``, stopped after."""
    root = tmp_path / "srv"
    root.mkdir()
    proc = ServerProcess(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()

"""Fixtures for the dataset tests: a tracking client on SQLite, on PostgreSQL and through
the session's real ``keel server``, with its own ``KEEL_HOME`` cache and state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ServerProcess, _truncate_postgres
from keel.client import Client
from keel.config import Settings
from keel.store import open_store


@pytest.fixture(params=["sqlite", "postgres", "rest"])
def sql_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The tracking URI of each store in turn (named for the SQL ones; ``rest`` is a
    server over SQLite)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keel.db'}"
    if request.param == "rest":
        server: ServerProcess = request.getfixturevalue("server")
        return server.url
    url: str = request.getfixturevalue("postgres_url")
    open_store(url, Settings(home=tmp_path, artifacts_uri=str(tmp_path / "a"))).close()
    _truncate_postgres(url)
    return url


@pytest.fixture
def keel_client(sql_uri: str, tmp_path: Path) -> Iterator[Client]:
    settings = Settings(
        home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"), user="alice"
    )
    c = Client(sql_uri, settings=settings)
    try:
        yield c
    finally:
        c.close()

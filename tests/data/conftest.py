"""Fixtures for the dataset tests: a tracking client on SQLite and on PostgreSQL (datasets
are not served by ``keel server`` yet), with its own ``KEEL_HOME`` cache and state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import _truncate_postgres
from keel.config import Settings
from keel.store import open_store
from keel.tracking.client import Client


@pytest.fixture(params=["sqlite", "postgres"])
def sql_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keel.db'}"
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

"""Fixtures for the registry contract suite.

Every test takes ``registry`` and so runs once per implementation (SQLite file,
PostgreSQL, REST over the session's real ``keel server``), beside a tracking ``store`` on
the same URI. The server and the PostgreSQL database outlive a test, so each test works
on models of its own (``model`` makes one with a fresh name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import settings_for, unique
from keel.artifacts.repository import RunArtifacts
from keel.config import Settings
from keel.store import RegistryStore, TrackingStore, open_registry
from registry.support import MANIFEST, OWNER, kind_of

MakeSource = Callable[..., str]


@pytest.fixture
def registry(store_uri: str, tmp_path: Path) -> Iterator[RegistryStore]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    r = open_registry(store_uri, settings)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def make_source(
    registry: RegistryStore, store: TrackingStore, store_uri: str, tmp_path: Path
) -> Iterator[MakeSource]:
    """Make a run holding a model (``<path>/keel-model.json``, by default ``MANIFEST``);
    returns its source URI. SQL stores write the artifact straight to the run's artifact
    root; over REST it is uploaded through a client."""
    clients: list[object] = []

    def make(
        path: str = "model",
        *,
        marker: str = "keel-model.json",
        content: bytes = MANIFEST,
        run_id: str | None = None,
    ) -> str:
        """``run_id`` logs to that run (replacing what the path held) instead of a new one."""
        if run_id is None:
            run_id = store.create_run(store.create_experiment(unique()), run_name="train").run_id
        file = f"{path}/{marker}"
        if kind_of(registry) == "rest":
            from keel.client import Client

            if not clients:
                clients.append(Client(store_uri, settings=settings_for(tmp_path)))
            clients[0].log_bytes(run_id, content, file)  # type: ignore[attr-defined]
        else:
            RunArtifacts(store).upload_stream(run_id, file, [content])
        return f"runs:/{run_id}/{path}"

    try:
        yield make
    finally:
        for client in clients:
            client.close()  # type: ignore[attr-defined]


@pytest.fixture
def model(registry: RegistryStore) -> str:
    """A fresh registered model's name."""
    name = unique("model")
    registry.create_registered_model(name, actor=OWNER)
    return name


@pytest.fixture
def source(make_source: MakeSource) -> str:
    """A model logged to a fresh run."""
    return make_source()

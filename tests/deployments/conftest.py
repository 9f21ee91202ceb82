"""Fixtures for the deployments suite: a ``keel.Client`` on each store (SQLite file,
PostgreSQL, REST over the session's real ``keel server``) and registered models with
versions and aliases to point deployments at. The server and the PostgreSQL database
outlive a test, so each test makes models and deployments of its own names."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest import unique
from keel.client import Client
from registry.support import MANIFEST


@dataclass(frozen=True)
class Models:
    """A registered model with ``versions`` versions; ``champion`` points at version 1."""

    name: str
    versions: int

    def uri(self, version: int | str) -> str:
        """``models:/<name>/<version>``, or ``models:/<name>@<alias>`` for a string."""
        if isinstance(version, str):
            return f"models:/{self.name}@{version}"
        return f"models:/{self.name}/{version}"


def register(client: Client, versions: int = 3) -> Models:
    """A fresh model with ``versions`` versions (each a run holding a model manifest)."""
    name = unique("model")
    experiment = client.create_experiment(unique())
    for _ in range(versions):
        run = client.create_run(experiment)
        client.log_bytes(run.run_id, MANIFEST, "model/keel-model.json")
        client.flush()
        client.registry.register_model(f"runs:/{run.run_id}/model", name)
    client.registry.set_alias(name, "champion", 1)
    return Models(name, versions)


@pytest.fixture
def models(client: Client) -> Models:
    return register(client)


@pytest.fixture
def name() -> str:
    """A fresh deployment name."""
    return unique("dep")

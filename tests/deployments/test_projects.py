"""Deployments belong to projects as models and datasets do: made in the one named, moved
with ``keel projects move --deployment``, and a project holding one is not deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import unique
from deployments.conftest import register
from keel.access.service import AccessService
from keel.cli.main import build_app
from keel.client import Client
from keel.errors import Conflict

runner = CliRunner()


@pytest.mark.parametrize("store_uri", ["sqlite", "postgres"], indirect=True)
def test_placed_moved_and_holding_its_project(
    store_uri: str, client: Client, name: str, tmp_path: Path
) -> None:
    access = AccessService(client.backend.access)
    project = unique("proj")
    other = unique("proj")
    access.create_project(project)
    access.create_project(other)
    models = register(client)
    client.deployments.create(name, models.uri(1), project=project)
    store = client.backend.access
    assert store.project_of("deployment", name) == access.get_project(project).id
    result = runner.invoke(
        build_app("projects"),
        ["projects", "move", other, "--deployment", name, "-t", store_uri],
        env={"KEEL_HOME": str(tmp_path / "cli")},
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"deployment {name!r} is in project {other!r} now" in result.output
    assert store.project_of("deployment", name) == access.get_project(other).id
    with pytest.raises(Conflict):
        access.delete_project(other)
    client.deployments.delete(name)
    access.delete_project(other)

"""A dataset made straight into a project (``data.add(..., project=)``) on SQLite and
PostgreSQL; the server suite (tests/access) covers the same through ``keel server``."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import unique
from data.support import write_files
from keel.client import Client
from keel.errors import Conflict, NotFound


def test_a_dataset_is_made_in_the_project_named(
    keel_client: Client, sql_uri: str, tmp_path: Path
) -> None:
    if keel_client.backend.remote:
        pytest.skip("projects are made on the server's database; tests/access covers REST")
    access = keel_client.backend.access
    team = unique("team")
    access.create_project(team, description="", now=1)
    data = keel_client.data
    name = unique("ds")
    src = write_files(tmp_path / "src", {"a.txt": "alpha"})
    data.add(src, name=name, project=team)
    assert access.project_of("dataset", name) == access.get_project(team).id
    write_files(src, {"b.txt": "beta"})
    assert data.add(src, name=name).version.version == 2  # stays in its project
    write_files(src, {"c.txt": "gamma"})
    with pytest.raises(Conflict, match=f"exists in project '{team}'"):
        data.add(src, name=name, project="default")
    assert [v.version for v in data.store.list_dataset_versions(name)] == [2, 1]
    other = unique("ds")
    with pytest.raises(NotFound, match="project 'nowhere'"):
        data.add(src, name=other, project="nowhere")
    with pytest.raises(NotFound):
        data.store.get_dataset(other)  # nothing recorded

"""A registered model (and its first version) made straight into a project, on SQLite
and PostgreSQL: placed in the transaction that creates it, never moved by a write."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import settings_for, unique
from keel.errors import Conflict, NotFound
from keel.store import open_backend
from registry.conftest import MakeSource
from registry.support import OWNER, kind_of


@pytest.fixture
def projects(store_uri: str, tmp_path: Path, registry):
    if kind_of(registry) == "rest":
        pytest.skip("projects are made on the server's database; the server suite covers REST")
    with open_backend(store_uri, settings_for(tmp_path)) as backend:
        team = unique("team")
        backend.access.create_project(team, description="", now=1)
        yield backend.access, team


def test_a_model_is_made_in_the_project_named(registry, projects) -> None:
    access, team = projects
    name = unique("m")
    found = registry.create_registered_model(name, actor=OWNER, project=team.upper())
    assert found.name == name
    assert access.project_of("model", name) == access.get_project(team).id
    [record] = registry.list_audit(name).records
    assert record.after["project"] == team
    with pytest.raises(NotFound, match="project 'nowhere'"):
        registry.create_registered_model(unique("m"), actor=OWNER, project="nowhere")
    assert registry.search_registered_models(f"{name}%").models == [found]  # nothing else


def test_registering_makes_the_model_in_the_project(
    registry, projects, make_source: MakeSource
) -> None:
    access, team = projects
    name = unique("m")
    source = make_source()
    registry.create_model_version(name, source, create_model=True, actor=OWNER, project=team)
    assert access.project_of("model", name) == access.get_project(team).id
    # a second version lands beside it; naming another project is refused, not a move
    registry.create_model_version(name, source, create_model=True, actor=OWNER, project=team)
    with pytest.raises(Conflict, match=f"exists in project '{team}'"):
        registry.create_model_version(
            name, source, create_model=True, actor=OWNER, project="default"
        )
    assert (
        registry.get_registered_model(name)
        and len(registry.search_model_versions(name).versions) == 2
    )
    with pytest.raises(NotFound, match="project 'nowhere'"):
        registry.create_model_version(
            unique("m"), source, create_model=True, actor=OWNER, project="nowhere"
        )

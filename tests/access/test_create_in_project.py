"""Registered models and datasets made straight into a project through a real ``keel
server``: the route checks the caller's role on THAT project, and a refusal writes
nothing. erin is maintainer of ``team-a`` only; alice maintainer of ``default`` only."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from access.conftest import Team, keel
from keel.client import Client
from keel.config import Settings
from keel.errors import Forbidden
from registry.support import MANIFEST
from server.support import API, assert_error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _run_with_model(api: httpx.Client, project: str | None) -> str:
    body = {"name": unique("exp"), **({"project": project} if project else {})}
    r = api.post(f"{API}/experiments", json=body)
    assert r.status_code == 201, r.text
    r = api.post(f"{API}/runs", json={"experiment_id": r.json()["experiment_id"], "run_name": "r"})
    assert r.status_code == 201, r.text
    run_id = r.json()["info"]["run_id"]
    r = api.put(
        f"{API}/runs/{run_id}/artifacts/content",
        params={"path": "model/keel-model.json"},
        content=MANIFEST,
    )
    assert r.status_code == 201, r.text
    return run_id


def _absent(team: Team, kind: str, name: str) -> None:
    with team.client("root") as root:
        assert root.get(f"{API}/{kind}/{name}").status_code == 404


def test_a_model_is_made_in_the_project_its_creator_may_write(team: Team, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    name, refused = unique("m"), unique("m")
    with Client(team.server.url, token=team.tokens["erin"], settings=settings) as erin:
        assert erin.registry.create_registered_model(name, project="team-a").name == name
        try:
            erin.registry.create_registered_model(refused, project="default")
            raise AssertionError("erin made a model in default")
        except Forbidden as exc:
            assert "default" in str(exc)
    _absent(team, "registered-models", refused)
    with team.client("alice") as alice, team.client("erin") as erin_api:
        assert erin_api.get(f"{API}/registered-models/{name}").status_code == 200
        assert_error(alice.get(f"{API}/registered-models/{name}"), 403, "team-a")
        r = alice.post(f"{API}/registered-models", json={"name": refused, "project": "team-a"})
        assert_error(r, 403, "team-a")
        r = alice.post(f"{API}/registered-models", json={"name": refused, "project": "nope"})
        assert_error(r, 404, "nope")
    _absent(team, "registered-models", refused)


def test_registering_makes_the_model_in_the_project(team: Team) -> None:
    name, refused = unique("m"), unique("m")
    with team.client("erin") as erin, team.client("alice") as alice:
        run_id = _run_with_model(erin, "team-a")
        body = {"source": f"runs:/{run_id}/model", "create_model": True, "project": "team-a"}
        r = erin.post(f"{API}/registered-models/{name}/versions", json=body)
        assert r.status_code == 201, r.text
        assert_error(alice.get(f"{API}/registered-models/{name}"), 403, "team-a")
        # alice's own run, but a model in team-a: refused, nothing written
        mine = _run_with_model(alice, None)
        body = {"source": f"runs:/{mine}/model", "create_model": True, "project": "team-a"}
        r = alice.post(f"{API}/registered-models/{refused}/versions", json=body)
        assert_error(r, 403, "team-a")
        # an existing model named with another project: 409, not a move
        body = {"source": f"runs:/{run_id}/model", "create_model": True, "project": "default"}
        r = erin.post(f"{API}/registered-models/{name}/versions", json=body)
        assert_error(r, 409, "exists in project 'team-a'")
    _absent(team, "registered-models", refused)


def test_the_cli_makes_a_model_in_a_project(team: Team, tmp_path: Path) -> None:
    name = unique("m")
    env = {"KEEL_TRACKING_TOKEN": team.tokens["erin"], "KEEL_HOME": str(tmp_path)}
    out = keel("models", "create", name, "--project", "team-a", "-t", team.server.url, env=env)
    assert f"created model {name} in project team-a" in out
    with team.client("erin") as erin:
        assert erin.get(f"{API}/registered-models/{name}").status_code == 200


def test_a_dataset_is_made_in_the_project_its_creator_may_write(team: Team, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(uuid.uuid4().hex)
    name, refused = unique("ds"), unique("ds")
    with Client(
        team.server.url, token=team.tokens["erin"], settings=Settings(home=tmp_path / "e")
    ) as erin:
        assert erin.data.add(src, name=name, project="team-a").created
    with Client(
        team.server.url, token=team.tokens["alice"], settings=Settings(home=tmp_path / "a")
    ) as alice:
        try:
            alice.data.add(src, name=refused, project="team-a")
            raise AssertionError("alice made a dataset in team-a")
        except Forbidden as exc:
            assert "team-a" in str(exc)
    _absent(team, "datasets", refused)
    with team.client("alice") as alice_api, team.client("erin") as erin_api:
        assert erin_api.get(f"{API}/datasets/{name}").status_code == 200
        assert_error(alice_api.get(f"{API}/datasets/{name}"), 403, "team-a")


def test_an_editor_of_one_project_creates_there_and_nowhere_else(
    team: Team, tmp_path: Path
) -> None:
    """carol: editor of a new project A (by grant through the server), reader of
    default, nothing on team-a. The CLI against the server, as a user would."""
    project = unique("a")
    with team.client("root") as root:
        assert root.post(f"{API}/projects", json={"name": project}).status_code == 201
        r = root.put(f"{API}/projects/{project}/grants/carol", json={"role": "editor"})
        assert r.status_code == 200, r.text
    env = {"KEEL_TRACKING_TOKEN": team.tokens["carol"], "KEEL_HOME": str(tmp_path / "home")}
    url = team.server.url
    name, data = unique("m"), unique("ds")
    keel("models", "create", name, "--project", project, "-t", url, env=env)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(uuid.uuid4().hex)
    assert "added" in keel(
        "data", "add", str(src), "--name", data, "--project", project, "-t", url, env=env
    )
    for where in ("team-a", "default"):  # no role; reader
        with team.client("carol") as carol:
            r = carol.post(f"{API}/registered-models", json={"name": unique("m"), "project": where})
            assert_error(r, 403, where)
    with Client(url, token=team.tokens["carol"], settings=Settings(home=tmp_path / "c")) as carol:
        refused = unique("ds")
        try:
            carol.data.add(src, name=refused, project="team-a")
            raise AssertionError("carol made a dataset in team-a")
        except Forbidden as exc:
            assert "team-a" in str(exc)
    _absent(team, "datasets", refused)
    with team.client("erin") as erin, team.client("carol") as carol:
        assert carol.get(f"{API}/registered-models/{name}").status_code == 200
        assert carol.get(f"{API}/datasets/{data}").status_code == 200
        assert_error(erin.get(f"{API}/registered-models/{name}"), 403, project)

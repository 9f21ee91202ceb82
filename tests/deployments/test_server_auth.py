"""Deployments on a ``keel server`` with users (``access/conftest.py``'s team: alice and
bob maintainers, eddie editor, carol reader on ``default``; erin maintainer on
``team-a`` only): reading needs ``deployment:read``, changing ``deployment:write`` (a
maintainer's), naming a model needs ``model:read`` on it, and the audit log names the
token's principal whatever the client claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from access.conftest import Team, team  # noqa: F401  (the module's server fixture)
from conftest import unique
from deployments.conftest import Models, register
from keel.client import Client
from keel.config import Settings
from keel.errors import Forbidden
from server.support import API, assert_error


def client_of(members: Team, who: str, tmp_path: Path) -> Client:
    """``who``'s client, claiming to be mallory (the server must not believe it)."""
    token = members.tokens[who]
    settings = Settings(home=tmp_path / who, user="mallory", tracking_token=token)
    return Client(members.server.url, settings=settings)


@pytest.fixture
def alice(team: Team, tmp_path: Path) -> Iterator[Client]:  # noqa: F811
    c = client_of(team, "alice", tmp_path)
    yield c
    c.close()


@pytest.fixture
def made(alice: Client) -> tuple[str, Models]:
    """A deployment of alice's on ``default`` with a 90/10 split, at revision 2."""
    models = register(alice)
    name = unique("dep")
    alice.deployments.create(name, models.uri("champion"))
    alice.deployments.set_traffic(name, {models.uri(1): 90, models.uri(2): 10})
    return name, models


def test_a_maintainer_changes_and_is_the_actor(alice: Client, made: tuple[str, Models]) -> None:
    name, _ = made
    alice.deployments.promote(name)
    alice.deployments.rollback(name)
    history = alice.deployments.history(name)
    assert {r.actor for r in history} == {"alice"}  # not "mallory", the claimed user
    assert all(r.request_id for r in history)  # each change names its request
    records = alice.registry.list_audit(name, resource_type="deployment")
    assert [r.actor for r in records] == ["alice"] * 4
    assert [r.request_id for r in records] == [r.request_id for r in reversed(history)]


@pytest.mark.parametrize("who", ["carol", "eddie"])
def test_readers_and_editors_read_but_never_change(
    team: Team,  # noqa: F811
    made: tuple[str, Models],
    who: str,
    tmp_path: Path,
) -> None:
    name, models = made
    with client_of(team, who, tmp_path) as other:
        assert other.deployments.get(name).revision == 2
        assert name in [d.name for d in other.deployments.list()]
        assert len(other.deployments.history(name)) == 2
        changes = [
            lambda: other.deployments.create(unique("dep"), models.uri(1)),
            lambda: other.deployments.set_traffic(name, {models.uri(2): 100}),
            lambda: other.deployments.promote(name),
            lambda: other.deployments.rollback(name),
            lambda: other.deployments.delete(name),
        ]
        for change in changes:
            with pytest.raises(Forbidden, match="deployment:write: needs the maintainer role"):
                change()
        assert other.deployments.get(name).revision == 2


def test_another_projects_maintainer_sees_nothing(
    team: Team,  # noqa: F811
    made: tuple[str, Models],
    tmp_path: Path,
) -> None:
    name, models = made
    with client_of(team, "erin", tmp_path) as erin:
        assert name not in [d.name for d in erin.deployments.list()]
        for read in (erin.deployments.get, erin.deployments.history):
            with pytest.raises(Forbidden, match="deployment:read"):
                read(name)
        with pytest.raises(Forbidden, match="deployment:write"):
            erin.deployments.promote(name)
        # In her own project, a deployment still may not expose a model she cannot read.
        with pytest.raises(Forbidden, match="model:read"):
            erin.deployments.create(unique("dep"), models.uri(1), project="team-a")
    with team.client("root") as root:
        r = root.get(f"{API}/audit", params={"resource_type": "deployment", "name": name})
        assert r.status_code == 200, r.text
        actions = [record["action"] for record in r.json()["records"]]
        assert actions == ["deployment.create", "deployment.traffic"]  # erin's: none
    with team.client("erin") as api:
        r = api.get(f"{API}/audit", params={"resource_type": "deployment", "name": name})
        assert_error(r, 403, "audit:read")


def test_without_a_token_every_route_is_401(
    team: Team,  # noqa: F811
    made: tuple[str, Models],
) -> None:
    name, _ = made
    with team.client(None) as anonymous:
        for method, path in [
            ("GET", f"{API}/deployments"),
            ("GET", f"{API}/deployments/{name}"),
            ("PUT", f"{API}/deployments/{name}/traffic"),
            ("POST", f"{API}/deployments/{name}/promote"),
            ("DELETE", f"{API}/deployments/{name}"),
        ]:
            assert_error(anonymous.request(method, path, json={}), 401, "token")

"""Changes to users, tokens, projects, grants and groups are audited in their own
transaction: on SQLite and PostgreSQL, with the CLI on the database, and through a real
server (the actor is the authenticated principal, never a token's secret)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from access.conftest import Team, keel
from access.test_service import Clock, access, backend, clock  # noqa: F401  (fixtures)
from keel.access.service import AccessService
from keel.errors import NotFound
from keel.store.acting import acting
from keel.store.sql.tables import audit_log
from server.support import API, assert_error


def records(backend, kind: str) -> list[dict]:  # noqa: F811
    page = backend.registry.list_audit(None, resource_type=kind, max_results=1000)
    return [
        {
            "action": r.action.value,
            "resource": r.name,
            "actor": r.actor,
            "before": r.before,
            "after": r.after,
        }
        for r in page
    ]


def test_every_access_change_is_audited(access: AccessService, backend) -> None:  # noqa: F811
    with acting("root", request_id="req-1"):
        bob, issued = access.create_principal("Bob")
        access.set_disabled("bob")
        access.set_disabled("bob")  # no change: no second record
        access.set_disabled("bob", False)
        rotated = access.rotate_token(issued.token.token_id, grace_seconds=0)
        access.revoke_token(rotated.token.token_id)
        access.create_project("fraud")
        access.grant("fraud", "bob", "editor")
        access.grant("fraud", "bob", "maintainer")
        access.revoke_grant("fraud", "bob")
        access.create_group("team")
        access.add_member("team", "bob")
        access.add_member("team", "bob")  # already a member: no record
        access.remove_member("team", "bob")
        access.grant("fraud", "team", "reader", group=True)
        access.revoke_grant("fraud", "team", group=True)
        exp_id = backend.tracking.create_experiment("moved")
        access.move("experiment", exp_id, "fraud")
        access.move("experiment", exp_id, "fraud")  # already there: no record
    users = records(backend, "user")
    assert [r["action"] for r in users] == ["user.create", "user.disable", "user.enable"]
    assert users[0]["after"] == {"kind": "user", "is_admin": False}
    assert {r["actor"] for r in users} == {"root"}
    tokens = records(backend, "token")
    assert [r["action"] for r in tokens] == [
        "token.create",
        "token.rotate",
        "token.create",
        "token.revoke",
    ]
    first, second = issued.token.token_id, rotated.token.token_id
    assert [r["resource"] for r in tokens] == [first, first, second, second]
    assert tokens[1]["after"]["replaced_by"] == second
    assert tokens[2]["after"]["replaces"] == first
    text = json.dumps(tokens)
    assert issued.secret not in text and rotated.secret not in text  # never the secret
    grants = records(backend, "grant")
    assert [(r["action"], r["before"], r["after"]) for r in grants] == [
        ("grant.set", None, {"principal": "bob", "role": "editor"}),
        (
            "grant.set",
            {"principal": "bob", "role": "editor"},
            {"principal": "bob", "role": "maintainer"},
        ),
        ("grant.revoke", {"principal": "bob", "role": "maintainer"}, None),
        ("grant.set", None, {"group": "team", "role": "reader"}),
        ("grant.revoke", {"group": "team", "role": "reader"}, None),
    ]
    assert {r["resource"] for r in grants} == {"fraud"}
    groups = records(backend, "group")
    assert [r["action"] for r in groups] == [
        "group.create",
        "group.member.add",
        "group.member.remove",
    ]
    projects = records(backend, "project")
    assert [r["action"] for r in projects] == ["project.create", "project.move"]
    assert projects[1]["before"] == {"kind": "experiment", "key": exp_id, "project": "default"}
    assert projects[1]["after"]["project"] == "fraud"
    with backend.access.engine.connect() as conn:
        request_ids = set(conn.execute(select(audit_log.c.request_id)).scalars())
    assert request_ids == {"req-1"}
    assert bob.name == "bob"


def test_a_refused_change_writes_no_record(access: AccessService, backend) -> None:  # noqa: F811
    access.create_project("fraud")
    before = len(records(backend, "grant")) + len(records(backend, "group"))
    with pytest.raises(NotFound):
        access.grant("fraud", "nobody", "editor")
    with pytest.raises(NotFound):
        access.revoke_grant("fraud", "nobody")
    with pytest.raises(NotFound):
        access.add_member("nogroup", "nobody")
    assert len(records(backend, "grant")) + len(records(backend, "group")) == before


def test_the_cli_on_the_database_names_the_local_user(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keel.db'}"
    env = {"KEEL_USER": "operator", "KEEL_HOME": str(tmp_path)}
    keel("users", "create", "alice", "--admin", "-t", db, env=env)
    keel("projects", "create", "fraud", "-t", db, env=env)
    keel("projects", "grant", "fraud", "alice", "editor", "-t", db, env=env)
    found = json.loads(keel("audit", "--resource-type", "user", "--json", "-t", db, env=env))[
        "records"
    ]
    assert [(r["action"], r["name"], r["actor"]) for r in found] == [
        ("user.create", "alice", "operator")
    ]
    out = keel("audit", "--resource-type", "grant", "-t", db, env=env)
    assert "grant.set" in out and "operator" in out
    out = keel("audit", "--resource-type", "token", "-t", db, env=env)
    assert "token.create" in out


def test_through_the_server_the_actor_is_the_principal(team: Team) -> None:
    name = f"aud-{uuid.uuid4().hex[:8]}"
    with team.client("root") as root, team.client("alice") as alice:
        r = root.post(f"{API}/users", json={"name": name}, headers={"X-Request-ID": "mk-user"})
        assert r.status_code == 201, r.text
        secret = r.json()["token"]["token"]
        assert root.put(f"{API}/projects/team-a/grants/{name}", json={"role": "reader"}).is_success
        found = root.get(f"{API}/audit", params={"resource_type": "user", "name": name}).json()
        [made] = found["records"]
        assert (made["action"], made["actor"], made["request_id"]) == (
            "user.create",
            "root",
            "mk-user",
        )
        grants = root.get(f"{API}/audit", params={"resource_type": "grant", "name": "team-a"})
        assert any(
            r["after"] == {"principal": name, "role": "reader"} and r["actor"] == "root"
            for r in grants.json()["records"]
        )
        tokens = root.get(f"{API}/audit", params={"resource_type": "token"}).json()["records"]
        assert any(r["after"]["principal"] == name for r in tokens)
        assert secret not in json.dumps(tokens)
        # Who may do what is an admin's to read: a maintainer sees none of it.
        assert_error(alice.get(f"{API}/audit", params={"resource_type": "user"}), 403, "admin")
        seen = alice.get(f"{API}/audit", params={"max_results": 1000}).json()["records"]
        assert not [r for r in seen if r["resource_type"] in ("user", "token", "grant")]

"""The access service over SQLite and PostgreSQL: names, hashed tokens, rotation, grants,
projects and the project of each resource."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from keel.access.service import AccessService
from keel.config import Settings
from keel.entities.access import DEFAULT_PROJECT_ID, PrincipalKind, Role, canonical_name
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store import open_backend
from keel.store.sql.tables import api_tokens

FULL_WIDTH_ALICE = "".join(chr(ord(c) + 0xFEE0) for c in "alice")
"""ａｌｉｃｅ: NFKC makes it alice."""  # noqa: RUF001


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'keel.db'}"
    else:
        from conftest import temporary_database

        admin = request.getfixturevalue("postgres_url")
        context = temporary_database(admin, "keel_access")
        uri = context.__enter__()
        request.addfinalizer(lambda: context.__exit__(None, None, None))
    found = open_backend(uri, Settings(home=tmp_path, artifacts_uri=str(tmp_path / "a")))
    yield found
    found.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def access(backend, clock: Clock) -> AccessService:
    return AccessService(backend.access, clock=clock)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("alice", "alice"), ("Alice", "alice"), (" ALICE ", "alice"), (FULL_WIDTH_ALICE, "alice"),
     ("ci-bot.2", "ci-bot.2")],
)  # fmt: skip
def test_names_are_compared_as_people_read_them(given: str, canonical: str) -> None:
    assert canonical_name(given) == canonical


@pytest.mark.parametrize("bad", ["", " ", "al\u200bice", "a/b", "-x", "a" * 65, "al ice", 3])
def test_names_that_could_pass_for_another_are_refused(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="name"):
        canonical_name(bad)


def test_one_principal_per_name_whatever_the_case(access: AccessService) -> None:
    principal, _issued = access.create_principal("Alice", admin=True)
    assert (principal.name, principal.is_admin, principal.kind) == (
        "alice",
        True,
        PrincipalKind.USER,
    )
    for again in ("alice", "ALICE", FULL_WIDTH_ALICE):
        with pytest.raises(AlreadyExists):
            access.create_principal(again)
    ci, _ = access.create_principal("ci", service_account=True)
    assert ci.kind is PrincipalKind.SERVICE_ACCOUNT and not ci.is_admin
    assert [p.name for p in access.list_principals()] == ["alice", "ci"]


def test_only_the_hash_of_a_token_is_stored(access: AccessService, backend) -> None:
    _, issued = access.create_principal("alice")
    assert issued.secret.startswith(f"keel_{issued.token.token_id}_")
    assert len(issued.secret) > 50
    with backend.access.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(api_tokens))]
    assert issued.secret not in str(rows)
    assert rows[0]["token_hash"] == hashlib.sha256(issued.secret.encode()).hexdigest()
    found = backend.access.token_by_hash(rows[0]["token_hash"])
    assert found is not None and found[1].name == "alice"


def test_revoke_and_expiry(access: AccessService, clock: Clock) -> None:
    access.create_principal("alice")
    short = access.issue_token("alice", name="short", expires_in_days=1)
    assert short.token.is_valid(clock.now)
    assert not short.token.is_valid(clock.now + 86_400_000)
    revoked = access.revoke_token(short.token.token_id)
    assert revoked.revoked_at == clock.now and not revoked.is_valid(clock.now)
    with pytest.raises(InvalidArgument, match="expires in"):
        access.issue_token("alice", expires_in_days=0)
    with pytest.raises(InvalidArgument, match="--user"):
        access.issue_token(None)
    with pytest.raises(NotFound):
        access.issue_token("nobody")


def test_rotation_keeps_the_old_token_for_the_grace_period(
    access: AccessService, clock: Clock
) -> None:
    access.create_principal("alice")
    old = access.issue_token("alice", name="ci", expires_in_days=30)
    clock.now += 1000
    new = access.rotate_token(old.token.token_id, grace_seconds=60)
    assert new.token.name == "ci" and new.secret != old.secret
    assert new.token.expires_at == clock.now + 30 * 86_400_000  # the same lifetime, anew
    old_now = access.get_token(old.token.token_id)
    assert old_now.expires_at == clock.now + 60_000
    assert old_now.is_valid(clock.now + 59_999) and not old_now.is_valid(clock.now + 60_000)
    with pytest.raises(InvalidArgument, match="grace"):
        access.rotate_token(new.token.token_id, grace_seconds=-1)
    access.revoke_token(new.token.token_id)
    with pytest.raises(InvalidArgument, match="revoked or expired"):
        access.rotate_token(new.token.token_id)


def test_grants_and_roles(access: AccessService, backend) -> None:
    alice, _ = access.create_principal("alice")
    access.create_project("Team-A", description="fraud")
    access.grant("team-a", "Alice", "editor")
    access.grant("default", "alice", Role.READER)
    access.grant("team-a", "alice", "maintainer")  # replaces the editor role
    assert backend.access.roles_of(alice.id) == {
        DEFAULT_PROJECT_ID: Role.READER,
        access.get_project("team-a").id: Role.MAINTAINER,
    }
    assert [(g.project, g.role) for g in access.list_grants()] == [
        ("default", Role.READER),
        ("team-a", Role.MAINTAINER),
    ]
    with pytest.raises(InvalidArgument, match="role"):
        access.grant("team-a", "alice", "owner")
    access.revoke_grant("team-a", "alice")
    with pytest.raises(NotFound, match="no role"):
        access.revoke_grant("team-a", "alice")
    with pytest.raises(NotFound, match="project"):
        access.grant("team-b", "alice", "reader")


def test_resources_belong_to_the_default_project_until_moved(
    access: AccessService, backend
) -> None:
    store = backend.tracking
    exp_id = store.create_experiment("e")
    run = store.create_run(exp_id, run_name="r")
    backend.registry.create_registered_model("m", actor="alice")
    sql = backend.access
    assert sql.project_of("experiment", exp_id) == DEFAULT_PROJECT_ID
    assert sql.project_of_run(run.info.run_id) == DEFAULT_PROJECT_ID
    assert sql.project_of("model", "m") == DEFAULT_PROJECT_ID
    assert sql.project_of("experiment", "999") is None
    assert sql.project_of("experiment", "not-a-number") is None
    team = access.create_project("team-a")
    access.move("experiment", exp_id, "team-a")
    access.move("model", "m", "team-a")
    assert sql.project_of_run(run.info.run_id) == team.id  # the runs follow
    assert sql.project_of("model", "m") == team.id
    with pytest.raises(NotFound):
        access.move("dataset", "nothing", "team-a")
    with pytest.raises(InvalidArgument, match="kind"):
        access.move("run", run.info.run_id, "team-a")
    with pytest.raises(Conflict, match="move them first"):
        access.delete_project("team-a")
    with pytest.raises(Conflict, match="default"):
        access.delete_project("default")
    access.move("experiment", exp_id, "default")
    access.move("model", "m", "default")
    access.delete_project("team-a")
    assert [p.name for p in access.list_projects()] == ["default"]


def test_a_new_project_after_the_default_gets_a_new_id(access: AccessService, backend) -> None:
    """PostgreSQL's sequence knows the default project's id (it was not forced)."""
    assert access.create_project("second").id != DEFAULT_PROJECT_ID
    with backend.access.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 2


def test_a_group_grants_its_members_the_highest_role(access: AccessService, backend) -> None:
    alice, _ = access.create_principal("alice")
    access.create_principal("bob")
    team = access.create_project("team-a")
    access.create_group("Reviewers")
    access.add_member("reviewers", "alice")
    access.add_member("reviewers", "alice")  # again: no error, one membership
    access.add_member("reviewers", "bob")
    access.grant("team-a", "reviewers", "maintainer", group=True)
    access.grant("team-a", "alice", "reader")
    access.grant("default", "alice", "editor")
    assert backend.access.roles_of(alice.id) == {
        team.id: Role.MAINTAINER,  # the group's, higher than her own reader
        DEFAULT_PROJECT_ID: Role.EDITOR,
    }
    assert [(g.name, g.members) for g in access.list_groups()] == [("reviewers", ("alice", "bob"))]
    assert [(g.principal, g.to_group) for g in access.list_grants("team-a")] == [
        ("alice", False),
        ("reviewers", True),
    ]
    access.remove_member("reviewers", "alice")
    assert backend.access.roles_of(alice.id)[team.id] is Role.READER
    with pytest.raises(AlreadyExists):
        access.create_group("REVIEWERS")
    with pytest.raises(NotFound, match="group"):
        access.grant("team-a", "nobody", "reader", group=True)
    access.delete_group("reviewers")
    assert access.list_groups() == []
    assert all(not g.to_group for g in access.list_grants())


def test_an_experiment_is_made_in_the_project_named(access: AccessService, backend) -> None:
    team = access.create_project("team-a")
    store = backend.tracking
    exp_id = store.create_experiment("in-team", project="Team-A")
    assert backend.access.project_of("experiment", exp_id) == team.id
    with pytest.raises(NotFound, match="project 'team-b'"):
        store.create_experiment("nowhere", project="team-b")
    assert store.get_experiment_by_name("nowhere") is None  # nothing made

"""The server's token cache: what it trusts for how long, and the writes it spares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from keel.access.authenticator import TOUCH_EVERY_MS, Authenticator
from keel.access.service import AccessService
from keel.config import Settings
from keel.entities.access import DEFAULT_PROJECT_ID, Role
from keel.errors import Unauthenticated
from keel.store import open_backend


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_800_000_000_000

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += int(seconds * 1000)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Authenticator, AccessService, Clocks, list[str]]]:
    backend = open_backend(f"sqlite:///{tmp_path / 'k.db'}", Settings(home=tmp_path))
    clocks = Clocks()
    auth = Authenticator(
        backend.access, ttl=30, clock=lambda: clocks.mono, wall=lambda: clocks.wall
    )
    access = AccessService(backend.access, clock=lambda: clocks.wall, on_change=auth.invalidate)
    statements: list[str] = []
    event.listen(
        backend.access.engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *rest: statements.append(sql.split()[0].upper()),
    )
    yield auth, access, clocks, statements
    backend.close()


def test_authentication_turns_on_with_the_first_principal(setup) -> None:
    auth, access, clocks, _ = setup
    assert auth.enabled() is False
    access.create_principal("alice")
    assert auth.enabled() is False  # looked a moment ago: not again yet
    clocks.advance(2.5)
    assert auth.enabled() is True
    assert auth.enabled_cached() is True  # and stays on without asking


def test_a_fresh_entry_costs_no_query_and_use_is_written_once_a_minute(setup) -> None:
    auth, access, clocks, statements = setup
    _alice, issued = access.create_principal("alice")
    access.grant("default", "alice", "editor")
    statements.clear()
    identity = auth.authenticate(issued.secret)
    assert identity.principal.name == "alice"
    assert identity.role_on(DEFAULT_PROJECT_ID) is Role.EDITOR
    assert statements.count("UPDATE") == 1  # last_used_at, the first time
    statements.clear()
    for _ in range(100):
        clocks.advance(0.1)
        assert auth.cached(issued.secret) is identity
        auth.authenticate(issued.secret)
    assert statements == []  # ten seconds of requests: no query at all
    clocks.advance(TOUCH_EVERY_MS / 1000)
    auth.authenticate(issued.secret)
    assert statements.count("UPDATE") == 1
    assert access.get_token(issued.token.token_id).last_used_at == clocks.wall


def test_an_entry_is_trusted_for_ttl_and_dropped_on_change(setup) -> None:
    auth, access, clocks, _ = setup
    _, issued = access.create_principal("alice")
    auth.authenticate(issued.secret)
    # Revoked elsewhere (another process): still trusted until the entry is 30 s old.
    auth.store.revoke_token(issued.token.token_id, now=clocks.wall)
    assert auth.authenticate(issued.secret).principal.name == "alice"
    clocks.advance(31)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(issued.secret)
    # Revoked through the service of this process: at once.
    second = access.issue_token("alice")
    auth.authenticate(second.secret)
    access.revoke_token(second.token.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(second.secret)


def test_an_expiry_inside_the_ttl_is_honoured(setup) -> None:
    auth, access, clocks, _ = setup
    access.create_principal("alice")
    short = access.issue_token("alice", expires_in_days=5 / 86400)
    auth.authenticate(short.secret)
    clocks.advance(6)
    assert auth.cached(short.secret) is None
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(short.secret)


def test_a_missing_resource_is_not_cached(setup, tmp_path: Path) -> None:
    auth, _, _, _statements = setup
    assert auth.project_of("experiment", "42") == DEFAULT_PROJECT_ID
    assert auth.project_cached("experiment", "42") == (False, None)


def test_a_deleted_models_project_is_forgotten(setup, tmp_path: Path) -> None:
    auth, access, _, _ = setup
    team = access.create_project("team-a")
    from keel.store.sql.registry import SqlRegistryStore

    registry = SqlRegistryStore(auth.store.engine)
    registry.create_registered_model("m", actor="alice")
    access.move("model", "m", "team-a")
    assert auth.project_of("model", "m") == team.id
    registry.delete_registered_model("m", actor="alice")
    registry.create_registered_model("m", actor="bob")  # again, in the default project
    assert auth.project_of("model", "m") == team.id  # what the cache still says
    auth.forget("model", "m")
    assert auth.project_of("model", "m") == DEFAULT_PROJECT_ID

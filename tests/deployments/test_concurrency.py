"""Two admins at once: of two changes made from the same revision one wins and the other
gets ``Conflict``, on SQLite, PostgreSQL and through a server; and a change whose audit
record cannot be written is not made at all (one transaction)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import settings_for, unique
from deployments.conftest import Models, register
from keel.client import Client
from keel.config import Settings
from keel.errors import AlreadyExists, Conflict

ROUNDS = 5


def _settings(tmp_path: Path, who: str) -> Settings:
    base = settings_for(tmp_path / who)
    return Settings(
        home=base.home,
        flush_interval=base.flush_interval,
        spool_dir=base.spool_dir,
        artifacts_uri=str(tmp_path / "artifacts"),
        user=who,
    )


@pytest.fixture
def admins(store_uri: str, tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    """Two clients of their own (two engines, or two HTTP sessions) on one store."""
    first = Client(store_uri, settings=_settings(tmp_path, "alice"))
    second = Client(store_uri, settings=_settings(tmp_path, "bob"))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once (released together by a barrier); each one's result or
    exception, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_changes_from_one_revision_one_wins(admins: tuple[Client, Client]) -> None:
    alice, bob = admins
    models: Models = register(alice)
    name = unique("dep")
    alice.deployments.create(name, models.uri(1))
    for round_ in range(ROUNDS):
        revision = alice.deployments.get(name).revision
        theirs = {models.uri(1): 90 - round_, models.uri(2): 10 + round_}
        his = {models.uri(1): 80 - round_, models.uri(3): 20 + round_}
        results = race(
            partial(alice.deployments.set_traffic, name, theirs, expected_revision=revision),
            partial(bob.deployments.set_traffic, name, his, expected_revision=revision),
        )
        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], Conflict), lost[0]
        assert f"expected revision {revision}, but it is at revision {revision + 1}" in str(lost[0])
        assert alice.deployments.get(name) == won[0]
    history = alice.deployments.history(name)
    assert [r.revision for r in history] == list(range(len(history), 0, -1))
    records = alice.registry.list_audit(name, resource_type="deployment")
    assert len(records) == len(history)  # one record per revision, none for a loser


def test_promotes_without_a_revision_never_interleave(admins: tuple[Client, Client]) -> None:
    """Two promotes of the same canary decided on one read: the second finds the
    deployment changed and is refused, rather than promoting again from a state it never
    saw."""
    alice, bob = admins
    models = register(alice)
    for _ in range(ROUNDS):
        name = unique("dep")
        alice.deployments.create(name, models.uri(1))
        alice.deployments.set_traffic(name, {models.uri(1): 90, models.uri(2): 10})
        results = race(
            partial(alice.deployments.promote, name), partial(bob.deployments.promote, name)
        )
        won = [r for r in results if not isinstance(r, Exception)]
        assert len(won) == 1, results
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
        assert alice.deployments.get(name).revision == 3


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgres"])
def test_a_change_whose_audit_record_fails_is_not_made(
    engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The database refuses the audit record of a traffic change (a trigger): the policy,
    the revision and the history stay as they were."""
    if engine_kind == "sqlite":
        uri = f"sqlite:///{tmp_path / 'keel.db'}"
        refuse = (
            "CREATE TRIGGER refuse_traffic BEFORE INSERT ON audit_log "
            "WHEN NEW.action = 'deployment.traffic' "
            "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END",
        )
        allow = ("DROP TRIGGER refuse_traffic",)
    else:
        uri = request.getfixturevalue("postgres_url")
        refuse = (
            "CREATE FUNCTION refuse_traffic() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'deployment.traffic' THEN "
            "RAISE EXCEPTION 'audit log unavailable'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_traffic BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION refuse_traffic()",
        )
        allow = (
            "DROP TRIGGER refuse_traffic ON audit_log",
            "DROP FUNCTION refuse_traffic()",
        )
    client = Client(uri, settings=_settings(tmp_path, "alice"))
    engine = create_engine(uri)
    try:
        models = register(client)
        name = unique("dep")
        made = client.deployments.create(name, models.uri(1))
        with engine.begin() as conn:
            for statement in refuse:
                conn.execute(text(statement))
        try:
            with pytest.raises(Exception, match="audit log unavailable"):
                client.deployments.set_traffic(name, {models.uri(1): 90, models.uri(2): 10})
        finally:
            with engine.begin() as conn:
                for statement in allow:
                    conn.execute(text(statement))
        assert client.deployments.get(name) == made
        assert len(client.deployments.history(name)) == 1
        changed = client.deployments.set_traffic(name, {models.uri(2): 100})
        assert changed.revision == 2  # the failed change took no revision number
    finally:
        engine.dispose()
        client.close()


def test_two_creates_of_one_name_one_wins(admins: tuple[Client, Client]) -> None:
    alice, bob = admins
    models = register(alice)
    for _ in range(ROUNDS):
        name = unique("dep")
        results = race(
            partial(alice.deployments.create, name, models.uri(1)),
            partial(bob.deployments.create, name, models.uri(2)),
        )
        won = [r for r in results if not isinstance(r, Exception)]
        assert len(won) == 1, results
        assert [type(r) for r in results if isinstance(r, Exception)] == [AlreadyExists]
        assert alice.deployments.get(name) == won[0]
        assert len(alice.deployments.history(name)) == 1

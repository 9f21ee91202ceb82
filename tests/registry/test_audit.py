"""The audit log: every change recorded in its transaction, read with filters."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conftest import unique
from keel.entities import MetricColumns, RunStatus, RunWrite, WriteBatch
from keel.entities.registry import AuditAction
from keel.errors import InvalidArgument
from keel.store import RegistryStore, TrackingStore
from keel.store.acting import acting
from registry.support import CI, OWNER, REVIEWER, new_version


def test_filters_and_pages(registry: RegistryStore, model: str, source: str) -> None:
    new_version(registry, model, source)
    registry.record_check(model, 1, "accuracy", True, actor=CI)
    time.sleep(0.005)
    since = registry.list_audit(model).records[-1].at + 1
    time.sleep(0.005)
    registry.set_alias(model, "staging", 1, actor=REVIEWER)
    registry.set_registered_model_tag(model, "team", "risk", actor=OWNER)

    everything = registry.list_audit(model).records
    assert [a.action for a in everything] == [
        AuditAction.MODEL_CREATE,
        AuditAction.VERSION_CREATE,
        AuditAction.CHECK_RECORD,
        AuditAction.ALIAS_SET,
        AuditAction.MODEL_TAG_SET,
    ]
    assert [a.id for a in everything] == sorted(a.id for a in everything)
    assert all(a.name == model for a in everything)
    assert [a.action for a in registry.list_audit(model, actor=CI).records] == [
        AuditAction.CHECK_RECORD
    ]
    assert [a.actor for a in registry.list_audit(model, action="alias.set").records] == [REVIEWER]
    recent = registry.list_audit(model, since=since).records
    assert [a.action for a in recent] == [AuditAction.ALIAS_SET, AuditAction.MODEL_TAG_SET]
    by_reviewer = registry.list_audit(actor=REVIEWER, action=AuditAction.ALIAS_SET).records
    assert everything[3] in by_reviewer

    pages, token = [], None
    while True:
        page = registry.list_audit(model, max_results=2, page_token=token)
        pages.append([a.id for a in page.records])
        if (token := page.next_page_token) is None:
            break
    assert [i for p in pages for i in p] == [a.id for a in everything]
    assert [len(p) for p in pages] == [2, 2, 1]


def test_bad_filters_are_refused(registry: RegistryStore) -> None:
    with pytest.raises(InvalidArgument, match="action: must be one of"):
        registry.list_audit(action="model.rename")
    with pytest.raises(InvalidArgument, match="since"):
        registry.list_audit(since=-1)
    with pytest.raises(InvalidArgument, match="max_results"):
        registry.list_audit(max_results=10**9)
    with pytest.raises(InvalidArgument, match="page_token"):
        registry.list_audit(page_token="!!")


def test_the_store_offers_no_way_to_change_the_log(registry: RegistryStore) -> None:
    from keel.store.registry import RegistryStore as Protocol

    names = [n for n in dir(Protocol) if not n.startswith("_")]
    assert [n for n in names if "audit" in n] == ["list_audit"]
    assert not [n for n in dir(registry) if "audit" in n and n != "list_audit" and n[0] != "_"]


def _sql_engine(registry: RegistryStore) -> Any:
    engine = getattr(registry, "engine", None)
    if engine is None:
        pytest.skip("the database behind a server is tested on the direct stores")
    return engine


def test_the_database_refuses_to_update_or_delete_a_record(
    registry: RegistryStore, model: str
) -> None:
    """Append-only in the database itself: a trigger on SQLite and PostgreSQL refuses
    UPDATE and DELETE of audit rows (and TRUNCATE on PostgreSQL), whoever connects."""
    engine = _sql_engine(registry)
    statements = [
        "UPDATE audit_log SET actor = 'nobody' WHERE resource = :m",
        "DELETE FROM audit_log WHERE resource = :m",
        "DELETE FROM audit_log",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    before = registry.list_audit(model).records
    assert before
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"m": model})
    assert registry.list_audit(model).records == before
    # Appending still works, and the records it makes are as protected.
    registry.set_registered_model_tag(model, "team", "risk", actor=OWNER)
    assert len(registry.list_audit(model).records) == len(before) + 1


def test_tracking_lifecycle_is_audited_and_metrics_are_not(
    registry: RegistryStore, store: TrackingStore
) -> None:
    # PostgreSQL's tracking tables are emptied between tests and ids start again, but the
    # audit log is never emptied: read this test's records only.
    time.sleep(0.002)
    since = int(time.time() * 1000)
    experiment = store.create_experiment(unique(), tags={"team": "risk"})
    store.set_experiment_tag(experiment, "team", "fraud")
    run = store.create_run(experiment, run_name="train").info.run_id
    marker = registry.list_audit(resource_type="run", name=run).records[-1].id
    store.write(
        WriteBatch(
            uuid.uuid4().hex,
            [RunWrite(run, params={"lr": "0.1"}, metrics=MetricColumns(["m"], [1.0], [1], [0]))],
        )
    )
    assert registry.list_audit(resource_type="run", name=run).records[-1].id == marker
    store.update_run(run, status=RunStatus.FINISHED)
    store.delete_run(run)
    store.restore_run(run)
    store.delete_experiment(experiment)
    store.restore_experiment(experiment)

    runs = registry.list_audit(run, resource_type="run", since=since).records
    assert [(r.action.value, r.before, r.after) for r in runs] == [
        ("run.create", None, {"experiment_id": experiment, "name": "train", "parent_run_id": None}),
        (
            "run.end",
            {"status": "RUNNING", "end_time": None},
            {"status": "FINISHED", "end_time": runs[1].after["end_time"]},  # type: ignore[index]
        ),
        ("run.delete", {"lifecycle_stage": "active"}, {"lifecycle_stage": "deleted"}),
        ("run.restore", {"lifecycle_stage": "deleted"}, {"lifecycle_stage": "active"}),
    ]  # fmt: skip
    assert all(r.resource_type.value == "run" and r.actor for r in runs)
    experiments = registry.list_audit(experiment, resource_type="experiment", since=since).records
    assert [r.action.value for r in experiments] == [
        "experiment.create", "experiment.tag.set", "experiment.delete", "experiment.restore",
    ]  # fmt: skip
    assert experiments[1].before == {"key": "team", "value": "risk"}
    # A model's records are not mixed in: a name alone means a model's.
    assert registry.list_audit(run).records == []


def test_a_bound_actor_is_recorded_by_the_tracking_store(
    registry: RegistryStore, store: TrackingStore
) -> None:
    _sql_engine(registry)
    experiment = store.create_experiment(unique())
    with acting("alice", request_id="req-42"):
        run = store.create_run(experiment).info.run_id
        store.delete_run(run)
    records = registry.list_audit(run, resource_type="run").records
    assert [(r.actor, r.request_id) for r in records] == [("alice", "req-42")] * 2
    assert [r.name for r in registry.list_audit(resource_type="run", actor="alice").records][
        -2:
    ] == [run, run]


def test_time_window_and_type_filters(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_tag(model, "a", "1", actor=OWNER)
    first = registry.list_audit(model).records[-1]
    time.sleep(0.005)
    registry.set_registered_model_tag(model, "b", "2", actor=OWNER)
    last = registry.list_audit(model).records[-1]
    window = registry.list_audit(model, since=first.at, until=last.at).records
    assert first in window and last not in window
    assert registry.list_audit(model, resource_type="model").records[-1] == last
    with pytest.raises(InvalidArgument, match="until: must be after since"):
        registry.list_audit(since=10, until=10)
    with pytest.raises(InvalidArgument, match="resource_type"):
        registry.list_audit(resource_type="person")


def test_the_server_records_who_and_which_request(server: Any) -> None:
    """A real ``keel server``: the request's actor and ``X-Request-ID`` (echoed back; made
    by the server when absent or malformed) are recorded with the change."""
    with httpx.Client(base_url=server.url, timeout=30) as api:
        created = api.post(
            "/api/v1/experiments",
            json={"name": unique()},
            headers={"X-Request-ID": "trace-abc.1", "X-Keel-User": "alice"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["X-Request-ID"] == "trace-abc.1"
        experiment = created.json()["experiment_id"]
        deleted = api.delete(
            f"/api/v1/experiments/{experiment}", headers={"X-Request-ID": "x" * 200}
        )
        assert deleted.status_code == 204, deleted.text
        made = deleted.headers["X-Request-ID"]
        assert len(made) == 32 and made != "x" * 200
        found = api.get("/api/v1/audit", params={"resource_type": "experiment", "name": experiment})
        assert found.status_code == 200, found.text
        records = [(r["action"], r["actor"], r["request_id"]) for r in found.json()["records"]]
        assert records[-2:] == [
            ("experiment.create", "alice", "trace-abc.1"),
            ("experiment.delete", "anonymous", made),
        ]


def test_a_dataset_version_is_audited(client: Any, tmp_path: Path) -> None:
    name = unique("data")
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    version = client.data.add(tmp_path / "rows.csv", name=name).version
    records = client.registry.list_audit(name, resource_type="dataset").records
    assert [(r.action.value, r.version) for r in records] == [
        ("dataset.version.create", version.version)
    ]
    assert records[0].after["digest"] == version.digest

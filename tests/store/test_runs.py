"""Runs: create, read, update, delete/restore, tags, and finding lost runs."""

from __future__ import annotations

import time

import pytest

from keel.entities import (
    LifecycleStage,
    RunCreate,
    RunEnd,
    RunStatus,
    RunWrite,
    WriteBatch,
)
from keel.entities.run import TAG_LOST
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from store.support import metrics, new_id, now_ms

MISSING_EXPERIMENT = "987654321"


def test_create_run_with_everything(store, exp_id) -> None:
    parent = store.create_run(exp_id, run_name="parent")
    rid = new_id()
    run = store.create_run(
        exp_id,
        run_id=rid,
        run_name="child",
        start_time=1_700_000_000_123,
        tags={"team": "vision", "keel.source.git.commit": "abc123"},
        parent_run_id=parent.run_id,
        user_id="ada",
    )
    info = run.info
    assert run.run_id == rid == info.run_id
    assert info.experiment_id == exp_id
    assert info.run_name == "child"
    assert info.status == RunStatus.RUNNING
    assert info.start_time == 1_700_000_000_123
    assert info.end_time is None
    assert info.lifecycle_stage == LifecycleStage.ACTIVE
    assert info.parent_run_id == parent.run_id
    assert info.user_id == "ada"
    assert rid in info.artifact_uri
    assert info.last_heartbeat is not None and info.last_heartbeat >= now_ms() - 60_000
    assert run.data.tags == {"team": "vision", "keel.source.git.commit": "abc123"}
    assert run.data.params == {} and run.data.metrics == {}
    assert run.code_version is not None and run.code_version.commit == "abc123"
    assert store.get_run(rid) == run


def test_create_run_defaults(store, exp_id) -> None:
    before = now_ms()
    a, b = store.create_run(exp_id), store.create_run(exp_id)
    for run in (a, b):
        assert len(run.run_id) == 32 and int(run.run_id, 16) >= 0
        assert isinstance(run.info.run_name, str) and run.info.run_name.strip()
        assert before - 1000 <= run.info.start_time <= now_ms() + 1000
        assert run.info.parent_run_id is None
        assert run.data.tags == {}
    assert a.run_id != b.run_id
    assert a.info.run_name != b.info.run_name


def test_create_run_refuses_bad_input(store, exp_id) -> None:
    with pytest.raises(NotFound):
        store.create_run(MISSING_EXPERIMENT)
    with pytest.raises(NotFound):
        store.create_run("not-a-number")
    with pytest.raises(InvalidArgument, match="run_id"):
        store.create_run(exp_id, run_id="NOT-A-RUN-ID")
    with pytest.raises(InvalidArgument, match="run_id"):
        store.create_run(exp_id, parent_run_id="../../etc")
    with pytest.raises(InvalidArgument, match="run_name"):
        store.create_run(exp_id, run_name="x" * 251)
    with pytest.raises(InvalidArgument, match="tag key"):
        store.create_run(exp_id, tags={"no spaces allowed!": "v"})
    assert store.search_runs([exp_id]).runs == []


def test_run_ids_are_unique(store, exp_id) -> None:
    rid = store.create_run(exp_id, run_name="first").run_id
    with pytest.raises(AlreadyExists):
        store.create_run(exp_id, run_id=rid, run_name="second")
    assert store.get_run(rid).info.run_name == "first"


def test_unknown_run_is_not_found(store) -> None:
    for missing in (new_id(), "nope"):
        with pytest.raises(NotFound):
            store.get_run(missing)
        with pytest.raises(NotFound):
            store.update_run(missing, status=RunStatus.FINISHED)
        with pytest.raises(NotFound):
            store.update_run(missing)
        with pytest.raises(NotFound):
            store.delete_run(missing)
        with pytest.raises(NotFound):
            store.restore_run(missing)
        with pytest.raises(NotFound):
            store.delete_tag(missing, "k")


def test_update_run_status_end_time_and_name(store, run_id) -> None:
    info = store.update_run(run_id, status=RunStatus.FAILED, end_time=1_800_000_000_000)
    assert info.status == RunStatus.FAILED
    assert info.end_time == 1_800_000_000_000
    assert info.run_name == "r"

    info = store.update_run(run_id, run_name="renamed")
    assert info.run_name == "renamed"
    assert info.status == RunStatus.FAILED  # untouched fields stay
    assert info.end_time == 1_800_000_000_000

    got = store.get_run(run_id).info
    assert (got.status, got.end_time, got.run_name) == (
        RunStatus.FAILED,
        1_800_000_000_000,
        "renamed",
    )
    assert store.update_run(run_id) == got  # nothing to change: the current info


def test_ending_a_run_without_end_time_sets_one(store, run_id) -> None:
    before = now_ms()
    info = store.update_run(run_id, status=RunStatus.FINISHED)
    assert info.status == RunStatus.FINISHED
    assert info.end_time is not None and before - 1000 <= info.end_time <= now_ms() + 1000


def test_update_run_refuses_bad_name(store, run_id) -> None:
    for bad in ("", "a\nb"):
        with pytest.raises(InvalidArgument, match="run_name"):
            store.update_run(run_id, run_name=bad)
    assert store.get_run(run_id).info.run_name == "r"


def test_delete_and_restore_run(store, exp_id) -> None:
    rid = store.create_run(exp_id).run_id
    other = store.create_run(exp_id).run_id
    store.delete_run(rid)
    assert store.get_run(rid).info.lifecycle_stage == LifecycleStage.DELETED
    assert store.get_run(other).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
    store.restore_run(rid)
    assert store.get_run(rid).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_logging_to_a_deleted_run_is_refused(store, run_id) -> None:
    store.delete_run(run_id)
    batch = WriteBatch(
        new_id(),
        [RunWrite(run_id, params={"p": "1"}, metrics=metrics(("m", 1.0, 1, 0)))],
    )
    with pytest.raises(InvalidArgument, match="deleted"):
        store.write(batch)
    run = store.get_run(run_id)
    assert run.data.params == {} and run.data.metrics == {}

    store.restore_run(run_id)
    store.write(batch)  # the refused batch left no trace: its id is still free
    assert store.get_run(run_id).data.params == {"p": "1"}


def test_delete_tag(store, exp_id) -> None:
    rid = store.create_run(exp_id, tags={"a": "1", "b": "2"}).run_id
    store.delete_tag(rid, "a")
    assert store.get_run(rid).data.tags == {"b": "2"}
    with pytest.raises(NotFound):
        store.delete_tag(rid, "a")
    assert store.get_run(rid).data.tags == {"b": "2"}


def test_tags_are_overwritten_by_later_writes(store, run_id) -> None:
    store.write(WriteBatch(new_id(), [RunWrite(run_id, tags={"stage": "train"})]))
    store.write(WriteBatch(new_id(), [RunWrite(run_id, tags={"stage": "eval"})]))
    assert store.get_run(run_id).data.tags == {"stage": "eval"}


def test_reap_lost_runs(store, exp_id) -> None:
    silent = store.create_run(exp_id, run_name="silent").run_id
    beating = store.create_run(exp_id, run_name="beating").run_id
    done = store.create_run(exp_id, run_name="done").run_id
    store.update_run(done, status=RunStatus.FINISHED, end_time=now_ms())
    time.sleep(1.0)
    # Any write counts as a heartbeat.
    store.write(WriteBatch(new_id(), [RunWrite(beating, heartbeat=now_ms())]))

    reaped = store.reap_lost_runs(600)

    assert silent in reaped
    assert beating not in reaped and done not in reaped
    lost = store.get_run(silent)
    assert lost.info.status == RunStatus.KILLED
    assert lost.data.tags.get(TAG_LOST) == "true"
    assert lost.info.end_time is not None and lost.info.end_time >= lost.info.start_time
    assert store.get_run(beating).info.status == RunStatus.RUNNING
    assert TAG_LOST not in store.get_run(beating).data.tags
    finished = store.get_run(done)
    assert finished.info.status == RunStatus.FINISHED
    assert TAG_LOST not in finished.data.tags
    assert silent not in store.reap_lost_runs(600)  # already KILLED: reaped once


def test_run_created_in_a_batch_and_ended(store, exp_id) -> None:
    rid = new_id()
    store.write(
        WriteBatch(
            new_id(),
            [
                RunWrite(
                    rid,
                    create=RunCreate(exp_id, "batched", 1_000),
                    end=RunEnd(RunStatus.KILLED, 2_000),
                )
            ],
        )
    )
    info = store.get_run(rid).info
    assert (info.run_name, info.start_time, info.status, info.end_time) == (
        "batched",
        1_000,
        RunStatus.KILLED,
        2_000,
    )

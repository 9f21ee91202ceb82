"""Experiments: create, read, list, delete/restore, tags, and the errors for bad input."""

from __future__ import annotations

import pytest

from conftest import unique
from keel.entities import LifecycleStage, ViewType
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from store.support import assert_cases, now_ms

MISSING_EXPERIMENT = "987654321"


def test_create_then_get_by_id_and_by_name(store) -> None:
    name = unique()
    before = now_ms()
    exp_id = store.create_experiment(name, tags={"team": "vision", "k.2": "v"})
    assert isinstance(exp_id, str)

    exp = store.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == name
    assert exp.lifecycle_stage == LifecycleStage.ACTIVE
    assert exp.tags == {"team": "vision", "k.2": "v"}
    assert exp.artifact_location.rstrip("/").endswith(f"/{exp_id}")
    assert before - 1000 <= exp.creation_time <= now_ms() + 1000
    assert exp.last_update_time >= exp.creation_time

    assert store.get_experiment_by_name(name) == exp


def test_experiment_ids_are_distinct(store) -> None:
    ids = {store.create_experiment(unique()) for _ in range(3)}
    assert len(ids) == 3


def test_get_by_name_is_none_when_missing(store) -> None:
    assert store.get_experiment_by_name(unique("missing")) is None


def test_get_by_name_matches_exactly(store) -> None:
    name = unique("Case")
    store.create_experiment(name)
    assert store.get_experiment_by_name(name.lower()) is None
    assert store.get_experiment_by_name(name + "x") is None
    assert store.get_experiment_by_name(name[:-1] + "%") is None


def test_duplicate_name_is_already_exists(store) -> None:
    name = unique()
    first = store.create_experiment(name)
    with pytest.raises(AlreadyExists, match="already exists"):
        store.create_experiment(name)
    assert store.get_experiment_by_name(name).experiment_id == first
    matching = [e for e in store.search_experiments(ViewType.ALL) if e.name == name]
    assert len(matching) == 1


def test_name_of_a_deleted_experiment_is_still_taken(store) -> None:
    name = unique()
    store.delete_experiment(store.create_experiment(name))
    with pytest.raises(AlreadyExists):
        store.create_experiment(name)


BAD_NAMES = ["", "   ", "x" * 251, "nul\x00byte", "new\nline", "tab\tchar", "del\x7f"]


def test_invalid_names_are_refused_naming_the_field_and_nothing_is_created(store) -> None:
    before = {e.name for e in store.search_experiments(ViewType.ALL)}

    def check(bad: str) -> tuple[object, object]:
        try:
            store.create_experiment(bad)
        except InvalidArgument as exc:
            return type(exc).__name__, "experiment name" in str(exc)
        return "accepted", None

    assert_cases(check, BAD_NAMES, want=("InvalidArgument", True))
    after = {e.name for e in store.search_experiments(ViewType.ALL)}
    assert after == before


def test_name_of_250_chars_is_accepted(store) -> None:
    name = unique() + "y" * (250 - len(unique()))
    assert len(name) == 250
    exp_id = store.create_experiment(name)
    assert store.get_experiment(exp_id).name == name


def test_unicode_name_round_trips(store) -> None:
    name = unique("expérience-実験")
    exp_id = store.create_experiment(name)
    assert store.get_experiment(exp_id).name == name
    assert store.get_experiment_by_name(name).experiment_id == exp_id


def test_invalid_tag_key_at_creation_creates_nothing(store) -> None:
    name = unique()
    with pytest.raises(InvalidArgument, match="tag key"):
        store.create_experiment(name, tags={"bad key!": "v"})
    assert store.get_experiment_by_name(name) is None


def test_unknown_experiment_is_not_found(store) -> None:
    for missing in (MISSING_EXPERIMENT, "not-a-number"):
        with pytest.raises(NotFound):
            store.get_experiment(missing)
        with pytest.raises(NotFound):
            store.delete_experiment(missing)
        with pytest.raises(NotFound):
            store.restore_experiment(missing)
        with pytest.raises(NotFound):
            store.set_experiment_tag(missing, "k", "v")


def test_malformed_experiment_ids_reach_nothing_else(store, exp_id, run_id) -> None:
    """An experiment id is not a path: one made to look like another resource's address
    is simply not found, and the resource it names is untouched."""
    malformed = [
        "",
        f"../runs/{run_id}",
        f"{exp_id}/restore",
        f"{exp_id}/../{exp_id}",
        f"{exp_id}?view=all",
        f"{exp_id}#x",
    ]
    calls = {
        "get": lambda bad: store.get_experiment(bad),
        "delete": lambda bad: store.delete_experiment(bad),
        "restore": lambda bad: store.restore_experiment(bad),
        "tag": lambda bad: store.set_experiment_tag(bad, "k", "v"),
    }

    def check(case: tuple[str, str]) -> object:
        call, bad = case
        try:
            calls[call](bad)
        except NotFound:
            return "NotFound"
        except Exception as exc:
            return type(exc).__name__
        return "accepted"

    assert_cases(check, [(c, bad) for c in calls for bad in malformed], want="NotFound")
    assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_experiment(exp_id).tags == {}


def test_search_experiments_by_view(store) -> None:
    kept, gone = store.create_experiment(unique()), store.create_experiment(unique())
    store.delete_experiment(gone)

    def ids(view: ViewType) -> set[str]:
        return {e.experiment_id for e in store.search_experiments(view)}

    active, deleted, everything = (
        ids(ViewType.ACTIVE_ONLY),
        ids(ViewType.DELETED_ONLY),
        ids(ViewType.ALL),
    )
    assert kept in active and gone not in active
    assert gone in deleted and kept not in deleted
    assert {kept, gone} <= everything
    assert everything == active | deleted
    assert ids(ViewType.ACTIVE_ONLY) == {e.experiment_id for e in store.search_experiments()}
    for e in store.search_experiments(ViewType.DELETED_ONLY):
        assert e.lifecycle_stage == LifecycleStage.DELETED


def test_delete_and_restore_carry_the_runs(store) -> None:
    exp_id = store.create_experiment(unique())
    runs = [store.create_run(exp_id, run_name=f"r{i}").run_id for i in range(2)]

    store.delete_experiment(exp_id)
    exp = store.get_experiment(exp_id)
    assert exp.lifecycle_stage == LifecycleStage.DELETED
    assert exp.last_update_time >= exp.creation_time
    for rid in runs:
        assert store.get_run(rid).info.lifecycle_stage == LifecycleStage.DELETED
    assert store.search_runs([exp_id]).runs == []
    assert {r.run_id for r in store.search_runs([exp_id], view=ViewType.DELETED_ONLY).runs} == set(
        runs
    )

    store.restore_experiment(exp_id)
    assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
    for rid in runs:
        assert store.get_run(rid).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert {r.run_id for r in store.search_runs([exp_id]).runs} == set(runs)


def test_no_new_runs_in_a_deleted_experiment(store) -> None:
    exp_id = store.create_experiment(unique())
    store.delete_experiment(exp_id)
    with pytest.raises(InvalidArgument, match="deleted"):
        store.create_run(exp_id)
    store.restore_experiment(exp_id)
    assert store.create_run(exp_id).info.experiment_id == exp_id


def test_set_experiment_tag_adds_and_overwrites(store) -> None:
    exp_id = store.create_experiment(unique(), tags={"a": "1"})
    store.set_experiment_tag(exp_id, "b", "2")
    store.set_experiment_tag(exp_id, "a", "one")
    assert store.get_experiment(exp_id).tags == {"a": "one", "b": "2"}
    store.set_experiment_tag(exp_id, "empty", "")
    assert store.get_experiment(exp_id).tags["empty"] == ""


def test_set_experiment_tag_refuses_bad_input(store) -> None:
    exp_id = store.create_experiment(unique())
    with pytest.raises(InvalidArgument, match="tag key"):
        store.set_experiment_tag(exp_id, "../escape", "v")
    with pytest.raises(InvalidArgument, match="bytes"):
        store.set_experiment_tag(exp_id, "big", "x" * (64 * 1024 + 1))
    assert store.get_experiment(exp_id).tags == {}

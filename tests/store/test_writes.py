"""Write batches: one atomic, idempotent unit of creating, logging to and ending runs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from keel.entities import (
    MetricColumns,
    RunCreate,
    RunEnd,
    RunStatus,
    RunWrite,
    WriteBatch,
)
from keel.entities.rules import MAX_BATCH_ROWS, MAX_BATCH_RUNS, MAX_PARAM_VALUE_BYTES
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PayloadTooLarge
from store.support import assert_cases, metrics, new_id

MISSING_EXPERIMENT = "987654321"


def snapshot(store, run_id: str, keys: tuple[str, ...] = ("m",)) -> tuple[object, ...]:
    """Everything a batch could have changed on a run, for before/after comparisons."""
    run = store.get_run(run_id)
    histories = tuple(len(store.get_metric_history(run_id, k)) for k in keys)
    return run.info.status, run.info.end_time, run.info.last_heartbeat, run.data, histories


def test_create_log_and_end_in_one_batch(store, exp_id) -> None:
    rid = new_id()
    store.write(
        WriteBatch(
            new_id(),
            [
                RunWrite(
                    rid,
                    create=RunCreate(exp_id, "one-shot", 1_000, user_id="ada"),
                    params={"model": "rf", "depth": "7"},
                    tags={"team": "vision"},
                    metrics=metrics(("loss", 0.5, 1_001, 0), ("loss", 0.25, 1_002, 1)),
                    end=RunEnd(RunStatus.FINISHED, 5_000),
                )
            ],
        )
    )
    run = store.get_run(rid)
    assert run.info.run_name == "one-shot"
    assert run.info.experiment_id == exp_id
    assert run.info.user_id == "ada"
    assert (run.info.start_time, run.info.end_time) == (1_000, 5_000)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"model": "rf", "depth": "7"}
    assert run.data.tags == {"team": "vision"}
    assert run.data.metrics == {"loss": 0.25}
    history = store.get_metric_history(rid, "loss")
    assert (history.steps, history.values, history.timestamps) == (
        [0, 1],
        [0.5, 0.25],
        [1_001, 1_002],
    )


def test_one_batch_writes_several_runs(store, exp_id, run_id) -> None:
    fresh = new_id()
    store.write(
        WriteBatch(
            new_id(),
            [
                RunWrite(fresh, create=RunCreate(exp_id, "new", 1), params={"a": "1"}),
                RunWrite(run_id, metrics=metrics(("m", 3.0, 1, 0))),
            ],
        )
    )
    assert store.get_run(fresh).data.params == {"a": "1"}
    assert store.get_run(run_id).data.metrics == {"m": 3.0}


def test_replaying_a_batch_writes_nothing_twice(store, run_id) -> None:
    first = WriteBatch(
        new_id(),
        [
            RunWrite(
                run_id, params={"p": "1"}, metrics=metrics(("m", 1.0, 10, 0), ("m", 2.0, 11, 1))
            )
        ],
    )
    assert store.write(first) is True
    assert store.write(first) is False  # acknowledged as a replay
    assert len(store.get_metric_history(run_id, "m")) == 2

    later = WriteBatch(new_id(), [RunWrite(run_id, metrics=metrics(("m", 5.0, 12, 2)))])
    store.write(later)
    store.write(first)  # an old batch replayed after a newer one changes nothing
    history = store.get_metric_history(run_id, "m")
    assert history.steps == [0, 1, 2] and history.total == 3
    assert store.get_run(run_id).data.metrics == {"m": 5.0}


def test_replay_is_by_batch_id_not_content(store, run_id) -> None:
    batch_id = new_id()
    store.write(WriteBatch(batch_id, [RunWrite(run_id, metrics=metrics(("m", 1.0, 1, 0)))]))
    store.write(WriteBatch(batch_id, [RunWrite(run_id, metrics=metrics(("m", 9.0, 2, 1)))]))
    assert store.get_metric_history(run_id, "m").values == [1.0]


def test_params_are_immutable_and_a_conflict_writes_nothing(store, exp_id, run_id) -> None:
    store.write(WriteBatch(new_id(), [RunWrite(run_id, params={"lr": "0.1"})]))
    # The same value again is fine.
    store.write(WriteBatch(new_id(), [RunWrite(run_id, params={"lr": "0.1", "bs": "32"})]))
    before = snapshot(store, run_id)

    newcomer = new_id()
    conflicting = WriteBatch(
        new_id(),
        [
            RunWrite(newcomer, create=RunCreate(exp_id, "newcomer", 1), params={"x": "1"}),
            RunWrite(
                run_id,
                params={"lr": "0.2", "extra": "e"},
                tags={"t": "v"},
                metrics=metrics(("m", 1.0, 1, 0)),
                end=RunEnd(RunStatus.FINISHED, 99),
            ),
        ],
    )
    with pytest.raises(Conflict, match="lr") as info:
        store.write(conflicting)
    assert info.value.status_code == 409

    assert snapshot(store, run_id) == before
    assert store.get_run(run_id).data.params == {"lr": "0.1", "bs": "32"}
    assert store.get_metric_history(run_id, "m").total == 0
    with pytest.raises(NotFound):
        store.get_run(newcomer)

    # The refused batch did not use up its id: sent again without the conflict, it applies.
    conflicting.runs[1].params = {"lr": "0.1", "extra": "e"}
    store.write(conflicting)
    run = store.get_run(run_id)
    assert run.data.params == {"lr": "0.1", "bs": "32", "extra": "e"}
    assert run.data.metrics == {"m": 1.0}
    assert run.info.status == RunStatus.FINISHED
    assert store.get_run(newcomer).data.params == {"x": "1"}


def test_param_value_size_limit_is_in_bytes(store, run_id) -> None:
    store.write(
        WriteBatch(new_id(), [RunWrite(run_id, params={"ok": "x" * MAX_PARAM_VALUE_BYTES})])
    )
    assert len(store.get_run(run_id).data.params["ok"]) == MAX_PARAM_VALUE_BYTES
    before = snapshot(store, run_id)
    # 4,097 two-byte characters: under the limit in characters, over it in bytes.
    for big in ("x" * (MAX_PARAM_VALUE_BYTES + 1), "é" * (MAX_PARAM_VALUE_BYTES // 2 + 1)):
        batch = WriteBatch(
            new_id(),
            [RunWrite(run_id, params={"big": big}, metrics=metrics(("m", 1.0, 1, 0)))],
        )
        with pytest.raises(InvalidArgument, match="big") as info:
            store.write(batch)
        assert "bytes" in str(info.value)
    assert snapshot(store, run_id) == before


def test_batch_over_the_row_limit_is_payload_too_large(store, run_id) -> None:
    n = MAX_BATCH_ROWS + 1
    cols = MetricColumns(["m"] * n, [0.5] * n, [1] * n, list(range(n)))
    with pytest.raises(PayloadTooLarge, match=str(MAX_BATCH_ROWS)) as info:
        store.write(WriteBatch(new_id(), [RunWrite(run_id, metrics=cols)]))
    assert info.value.status_code == 413
    assert store.get_metric_history(run_id, "m").total == 0


def test_invalid_batches_change_nothing(store, exp_id, run_id) -> None:
    """Each batch below breaks one rule; each is refused whole, naming what is wrong."""
    store.write(WriteBatch(new_id(), [RunWrite(run_id, params={"kept": "1"})]))
    before = snapshot(store, run_id)

    def good(**changes: object) -> RunWrite:
        write = RunWrite(run_id, params={"new": "p"}, metrics=metrics(("m", 1.0, 1, 0)))
        for name, value in changes.items():
            setattr(write, name, value)
        return write

    cases = {
        "metric key": [good(metrics=metrics(("bad key!", 1.0, 1, 0)))],
        "metric key ..": [good(metrics=metrics(("m", 1.0, 1, 0), ("../up", 1.0, 1, 0)))],
        "empty metric key": [good(metrics=metrics(("", 1.0, 1, 0)))],
        "param key": [good(params={"new": "p", "no/../dots": "v"})],
        "tag key": [good(tags={"": "v"})],
        "NUL in param": [good(params={"new": "a\x00b"})],
        "tag value": [good(tags={"t": "x" * (64 * 1024 + 1)})],
        "step": [good(metrics=metrics(("m", 1.0, 1, 2**63)))],
        "columns": [good(metrics=MetricColumns(["m", "m"], [1.0], [1, 2], [0, 1]))],
        "run_id": [RunWrite("NOT-A-RUN", params={"a": "1"}), good()],
        "end status": [good(end=RunEnd(RunStatus.RUNNING, 5))],
        "run twice": [good(), RunWrite(run_id, tags={"t": "v"})],
        "run_name": [good(), RunWrite(new_id(), create=RunCreate(exp_id, "", 1))],
        # Wrong types: refused, never coerced.
        "bool value": [good(metrics=metrics(("m", True, 1, 0)))],
        "string step": [good(metrics=metrics(("m", 1.0, 1, "0")))],
        "float timestamp": [good(metrics=metrics(("m", 1.0, 1.0, 0)))],
        "float end_time": [good(end=RunEnd(RunStatus.FINISHED, 5.5))],
        "string heartbeat": [good(heartbeat="soon")],
        "long batch_id": None,
    }

    def check(name: str) -> object:
        try:
            if cases[name] is None:
                store.write(WriteBatch("b" * 65, [good()]))
            else:
                store.write(WriteBatch(new_id(), cases[name]))
        except InvalidArgument as exc:
            return type(exc).__name__, snapshot(store, run_id) == before
        return "accepted", None

    assert_cases(check, list(cases), want=("InvalidArgument", True))
    assert snapshot(store, run_id) == before


def test_invalid_argument_messages_name_the_field(store, run_id) -> None:
    cases = {
        "metric key": RunWrite(run_id, metrics=metrics(("bad key!", 1.0, 1, 0))),
        "param key": RunWrite(run_id, params={"a b!": "v"}),
        "run_id": RunWrite("xyz"),
        "status": RunWrite(run_id, end=RunEnd(RunStatus.SCHEDULED, 1)),
    }

    def check(field: str) -> bool:
        try:
            store.write(WriteBatch(new_id(), [cases[field]]))
        except InvalidArgument as exc:
            return field in str(exc)
        return False

    assert_cases(check, list(cases), want=True)


def test_too_many_runs_is_payload_too_large(store) -> None:
    writes = [RunWrite(new_id(), heartbeat=1) for _ in range(MAX_BATCH_RUNS + 1)]
    with pytest.raises(PayloadTooLarge, match=str(MAX_BATCH_RUNS)):
        store.write(WriteBatch(new_id(), writes))


def test_string_start_time_is_refused(store, exp_id) -> None:
    rid = new_id()
    with pytest.raises(InvalidArgument, match="start_time"):
        store.write(WriteBatch(new_id(), [RunWrite(rid, create=RunCreate(exp_id, "n", "5"))]))
    with pytest.raises(NotFound):
        store.get_run(rid)


def test_empty_batch_id_is_refused(store, run_id) -> None:
    with pytest.raises(InvalidArgument, match="batch_id"):
        store.write(WriteBatch("", [RunWrite(run_id, params={"a": "1"})]))
    assert store.get_run(run_id).data.params == {}


def test_unknown_run_or_experiment_is_not_found(store, exp_id, run_id) -> None:
    with pytest.raises(NotFound):
        store.write(WriteBatch(new_id(), [RunWrite(new_id(), params={"a": "1"})]))
    ghost = new_id()
    for missing in (MISSING_EXPERIMENT, "not-a-number"):
        with pytest.raises(NotFound):
            store.write(
                WriteBatch(
                    new_id(),
                    [
                        RunWrite(run_id, params={"a": "1"}),
                        RunWrite(ghost, create=RunCreate(missing, "ghost", 1)),
                    ],
                )
            )
    with pytest.raises(NotFound):
        store.get_run(ghost)
    assert store.get_run(run_id).data.params == {}


def test_creating_an_existing_run_is_refused(store, exp_id, run_id) -> None:
    batch = WriteBatch(
        new_id(), [RunWrite(run_id, create=RunCreate(exp_id, "again", 1), params={"a": "1"})]
    )
    with pytest.raises(AlreadyExists):
        store.write(batch)
    run = store.get_run(run_id)
    assert run.info.run_name == "r" and run.data.params == {}


def run_together(n: int, work) -> list[BaseException | None]:
    """Call ``work(i)`` from ``n`` threads released at once; the exception each raised."""
    barrier = threading.Barrier(n)
    outcome: list[BaseException | None] = [None] * n

    def go(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcome


def test_concurrent_batches_to_one_run_all_land(store, run_id) -> None:
    n = 6
    # Round 1 makes series "m" (and param "shared"); round 2 extends what round 1 made.
    for rounds in (1, 2):

        def work(i: int, rounds: int = rounds) -> None:
            cols = metrics(
                *(("m", float(i), 1_000 + i, rounds * 100 + i * 10 + j) for j in range(3))
            )
            batch = RunWrite(run_id, params={"shared": "same", f"r{rounds}t{i}": "x"}, metrics=cols)
            store.write(WriteBatch(new_id(), [batch]))

        errors = [e for e in run_together(n, work) if e is not None]
        assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
        history = store.get_metric_history(run_id, "m")
        assert len(history) == history.total == 3 * n * rounds

    want = sorted(r * 100 + i * 10 + j for r in (1, 2) for i in range(n) for j in range(3))
    assert store.get_metric_history(run_id, "m").steps == want
    run = store.get_run(run_id)
    assert run.data.metrics["m"] == float(n - 1)  # highest step: round 2, thread n - 1
    assert run.data.params == {"shared": "same"} | {
        f"r{r}t{i}": "x" for r in (1, 2) for i in range(n)
    }


def test_concurrent_conflicting_params_one_wins(store, run_id) -> None:
    n = 6

    def work(i: int) -> None:
        batch = RunWrite(run_id, params={"lr": str(i)}, metrics=metrics((f"m{i}", 1.0, 1, 0)))
        store.write(WriteBatch(new_id(), [batch]))

    outcome = run_together(n, work)
    winners = [i for i, e in enumerate(outcome) if e is None]
    losers = [e for e in outcome if e is not None]
    assert len(winners) == 1, outcome
    assert all(isinstance(e, Conflict) for e in losers), [type(e).__name__ for e in losers]
    run = store.get_run(run_id)
    assert run.data.params == {"lr": str(winners[0])}
    assert set(run.data.metrics) == {f"m{winners[0]}"}


def test_a_batch_finds_its_series_through_the_index_on_sqlite(tmp_path: Path) -> None:
    """`(run, key) IN ((?, ?), ...)` made SQLite scan every series of every run for each
    batch of metrics; the lookup must search the unique index however many pairs."""
    from sqlalchemy import event

    from keel.store.sql.engine import make_engine
    from keel.store.sql.migrate import ensure_schema
    from keel.store.sql.write_statements import write_statements

    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    ensure_schema(engine)
    sent: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
    params = {"runs": ["a" * 32, "b" * 32], "keys": ["loss", "acc", "f1"]}
    with engine.connect() as conn:
        conn.execute(write_statements("sqlite").series_ids, params).all()
        sql, values = sent[-1]
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values).all()  # type: ignore[arg-type]
    engine.dispose()
    details = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH metric_series USING" in details, details
    assert "SCAN metric_series" not in details, details

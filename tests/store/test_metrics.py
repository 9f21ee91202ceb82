"""Metrics: the latest-value rule, non-finite values, history, and downsampled history."""

from __future__ import annotations

import math

import pytest

from keel.entities import MetricColumns, MetricHistory, RunWrite, WriteBatch
from keel.errors import InvalidArgument, NotFound
from keel.store.sql.rollups import LEVELS, rollup_level
from store.support import metrics, new_id


def log(store, run_id: str, *points: tuple[str, float, int, int]) -> None:
    store.write(WriteBatch(new_id(), [RunWrite(run_id, metrics=metrics(*points))]))


def same(a: list[float], b: list[float]) -> bool:
    """Equal lists of floats where NaN equals NaN (and the sign of infinity matters)."""
    return len(a) == len(b) and all(
        x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)
    )


def test_latest_value_is_the_highest_step_then_the_latest_timestamp(store, run_id) -> None:
    # Within one batch: logged out of order.
    log(store, run_id, ("a", 3.0, 100, 5), ("a", 1.0, 900, 2), ("a", 2.0, 50, 4))
    # Same step: the later timestamp wins, whatever the order of logging.
    log(store, run_id, ("b", 7.0, 200, 1), ("b", 6.0, 100, 1))
    assert store.get_run(run_id).data.metrics == {"a": 3.0, "b": 7.0}

    # Across batches: a later batch with a lower step does not replace the latest value...
    log(store, run_id, ("a", -1.0, 10_000, 3))
    # ...a higher step does, and a later timestamp at the same step does.
    log(store, run_id, ("b", 8.0, 300, 1))
    assert store.get_run(run_id).data.metrics == {"a": 3.0, "b": 8.0}
    log(store, run_id, ("a", 4.0, 1, 6))
    assert store.get_run(run_id).data.metrics == {"a": 4.0, "b": 8.0}
    assert store.get_metric_history(run_id, "a").total == 5


def test_negative_and_huge_steps(store, run_id) -> None:
    big = 2**62
    log(store, run_id, ("s", 1.0, 1, -big), ("s", 2.0, 2, big), ("s", 3.0, 3, 0))
    history = store.get_metric_history(run_id, "s")
    assert history.steps == [-big, 0, big]
    assert history.values == [1.0, 3.0, 2.0]
    assert store.get_run(run_id).data.metrics["s"] == 2.0


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 0.0, 1e-300, 1.7976931348623157e308, 5]
)
def test_values_round_trip_exactly(store, run_id, value) -> None:
    log(store, run_id, ("v", value, 10, 0))
    got = store.get_run(run_id).data.metrics["v"]
    history = store.get_metric_history(run_id, "v")
    assert same([got], [float(value)])
    assert same(history.values, [float(value)])
    assert isinstance(got, float) and isinstance(history.values[0], float)


def test_non_finite_values_in_one_series(store, run_id) -> None:
    values = [math.inf, 1.5, math.nan, -math.inf, -2.5]
    log(store, run_id, *(("x", v, 100 + i, i) for i, v in enumerate(values)))
    history = store.get_metric_history(run_id, "x")
    assert history.steps == [0, 1, 2, 3, 4]
    assert same(history.values, values)
    assert store.get_run(run_id).data.metrics["x"] == -2.5

    log(store, run_id, ("x", math.nan, 200, 9))
    assert math.isnan(store.get_run(run_id).data.metrics["x"])
    log(store, run_id, ("x", -math.inf, 300, 10))
    assert store.get_run(run_id).data.metrics["x"] == -math.inf


def test_history_is_ordered_by_step_and_keeps_every_point(store, run_id) -> None:
    log(store, run_id, ("h", 3.0, 3, 30), ("h", 1.0, 1, 10))
    log(store, run_id, ("h", 2.0, 2, 20), ("h", 2.5, 5, 20), ("other", 9.0, 1, 15))
    history = store.get_metric_history(run_id, "h")
    assert history.key == "h"
    assert history.steps == [10, 20, 20, 30]
    assert history.values == [1.0, 2.0, 2.5, 3.0]
    assert history.timestamps == [1, 2, 5, 3]
    assert history.total == 4 and not history.is_downsampled
    assert [m.value for m in history] == history.values
    # max_points at or above the series length changes nothing.
    assert store.get_metric_history(run_id, "h", max_points=4) == history
    assert store.get_metric_history(run_id, "h", max_points=1000) == history


def test_keys_with_punctuation_round_trip(store, run_id) -> None:
    keys = ["val loss", "a/b:c-d_e.f", "x" * 250]
    store.write(
        WriteBatch(
            new_id(),
            [
                RunWrite(
                    run_id,
                    params={k: k for k in keys},
                    tags={k: "t" for k in keys},
                    metrics=metrics(*((k, float(i), 1, i) for i, k in enumerate(keys))),
                )
            ],
        )
    )
    run = store.get_run(run_id)
    assert run.data.metrics == {k: float(i) for i, k in enumerate(keys)}
    assert run.data.params == {k: k for k in keys}
    for i, k in enumerate(keys):
        assert store.get_metric_history(run_id, k).values == [float(i)]
        store.delete_tag(run_id, k)
    assert store.get_run(run_id).data.tags == {}


def test_history_of_an_unknown_key_is_empty(store, run_id) -> None:
    log(store, run_id, ("known", 1.0, 1, 0))
    history = store.get_metric_history(run_id, "unknown")
    assert len(history) == 0 and history.total == 0
    assert (history.steps, history.values, history.timestamps) == ([], [], [])


def test_history_of_an_unknown_run_is_not_found(store) -> None:
    with pytest.raises(NotFound):
        store.get_metric_history(new_id(), "m")
    with pytest.raises(NotFound):
        store.get_metric_history(new_id(), "m", max_points=10)


def write_series(store, run_id: str, key: str, steps: list[int], values: list[float]) -> None:
    n = len(steps)
    cols = MetricColumns([key] * n, values, [1_000 + i for i in range(n)], steps)
    store.write(WriteBatch(new_id(), [RunWrite(run_id, metrics=cols)]))


def assert_downsampled(store, run_id: str, key: str, max_points: int) -> None:
    """The chart contract: few points, the extremes and both ends, all of them real."""
    full = store.get_metric_history(run_id, key)
    got = store.get_metric_history(run_id, key, max_points=max_points)
    where = f"{key} max_points={max_points}"
    assert got.total == full.total == len(full), where
    assert got.is_downsampled, where
    assert len(got) <= max_points + 2, where
    finite = [v for v in full.values if not math.isnan(v)]
    assert min(finite) in got.values and max(finite) in got.values, where
    assert got.steps[0] == full.steps[0] and got.steps[-1] == full.steps[-1], where
    assert got.steps == sorted(got.steps), where
    real = set(zip(full.steps, full.timestamps, full.values, strict=True))
    assert set(zip(got.steps, got.timestamps, got.values, strict=True)) <= real, where


def test_downsampled_history_keeps_extremes_and_ends(store, run_id) -> None:
    n = 2_000
    steps = list(range(0, 3 * n, 3))  # not contiguous: 0, 3, 6, ...
    values = [math.sin(i / 50) for i in range(n)]
    values[777] = 50.0  # global max, mid-series
    values[1234] = -50.0  # global min
    write_series(store, run_id, "d", steps, values)
    full = store.get_metric_history(run_id, "d")
    assert full.total == n and len(full) == n and full.steps == steps

    for max_points in (4, 5, 20, 101):
        assert_downsampled(store, run_id, "d", max_points)
        got = store.get_metric_history(run_id, "d", max_points=max_points)
        assert 50.0 in got.values and -50.0 in got.values


def test_downsampled_long_series_written_in_several_batches(store, run_id) -> None:
    """Past a few thousand points the SQL stores answer from rollups kept as points
    arrive; the answer must not depend on how the series was split into batches."""
    n = 6_000
    for key, offset in (("long", 0), ("negative", -3_000)):
        values = [math.cos(i / 300) for i in range(n)]
        values[1_500] = 100.0  # max in the first batch
        values[4_500] = -100.0  # min in the second
        values[5_900] = math.nan
        steps = [i + offset for i in range(n)]
        for lo, hi in ((0, 3_000), (3_000, 5_000), (5_000, n)):
            write_series(store, run_id, key, steps[lo:hi], values[lo:hi])
        # A late point for an early step, more extreme than anything so far.
        write_series(store, run_id, key, [steps[100]], [250.0])
        for max_points in (4, 10, 60, 200):
            assert_downsampled(store, run_id, key, max_points)
        got = store.get_metric_history(run_id, key, max_points=10)
        assert 250.0 in got.values and -100.0 in got.values


def test_downsampled_history_with_huge_step_range(store, run_id) -> None:
    steps = [i * 2**57 for i in range(40)] + [-(2**62)]
    write_series(store, run_id, "wide", steps, [float(i % 5) for i in range(41)])
    assert_downsampled(store, run_id, "wide", 10)


def test_downsampled_history_with_non_finite_values(store, run_id) -> None:
    n = 300
    values = [float(i % 7) for i in range(n)]
    values[10], values[200], values[250] = math.inf, -math.inf, math.nan
    write_series(store, run_id, "d", list(range(n)), values)
    assert_downsampled(store, run_id, "d", 10)
    got = store.get_metric_history(run_id, "d", max_points=10)
    assert math.inf in got.values and -math.inf in got.values


def test_max_points_below_four_is_invalid(store, run_id) -> None:
    log(store, run_id, *(("m", float(i), i, i) for i in range(10)))
    for bad in (0, 1, 3, -5):
        with pytest.raises(InvalidArgument, match="max_points"):
            store.get_metric_history(run_id, "m", max_points=bad)


def test_rollup_level_follows_the_points_wanted_not_the_series_length() -> None:
    # One series, more points wanted: a finer level.
    span = 2**20
    levels = [rollup_level(0, span - 1, (m - 2) // 2) for m in (4, 20, 100, 1_000, 10_000)]
    assert levels == [18, 15, 12, 9, 6]
    # Too many points wanted for even the finest level: read the points themselves.
    assert rollup_level(0, span - 1, 2**15) is None
    # Series of different lengths, the same points wanted: at least one bucket a range
    # and fewer than eight (bar the finest level), so a read costs about the same.
    for length in (100_000, 1_000_000, 10_000_000, 100_000_000):
        level = rollup_level(0, length - 1, 499)
        assert level is not None
        assert length >> level >= 499
        assert level == LEVELS[-1] or length >> level < 8 * 499 + 8, length


def test_downsampling_reads_a_level_fine_enough_for_the_points_wanted(store, run_id) -> None:
    # 8,192 points 64 steps apart: levels 6 to 18 each serve some max_points below.
    n = 8_192
    steps = [i * 64 for i in range(n)]
    values = [math.sin(i * 0.37) * (1 + i % 7) for i in range(n)]
    write_series(store, run_id, "s", steps, values)
    for max_points in (4, 20, 100, 1_000, 4_000):
        assert_downsampled(store, run_id, "s", max_points)
        got = store.get_metric_history(run_id, "s", max_points=max_points)
        # Every range wanted had a bucket of its own: about as many points as asked.
        assert len(got) >= (max_points - 2) // 2, max_points


def test_history_in_chunks_is_the_history(store, run_id) -> None:
    """``iter_metric_history`` gives the series in consecutive chunks, each with the total;
    a database holds a chunk of rows at a time, the server streams them."""
    n = 70_000
    values = [1.0 / (i + 1) for i in range(n)]
    values[5], values[65_600], values[-1] = math.nan, math.inf, -math.inf
    write_series(store, run_id, "c", list(range(n)), values)
    chunks = list(store.iter_metric_history(run_id, "c"))
    assert len(chunks) == 2 and {c.total for c in chunks} == {n}
    assert chunks[0].steps[-1] + 1 == chunks[1].steps[0]
    joined = MetricHistory.join(chunks)
    assert joined == store.get_metric_history(run_id, "c") and joined.total == n
    assert joined.steps == list(range(n)) and same(joined.values, values)

    empty = list(store.iter_metric_history(run_id, "nothing"))
    assert [(c.key, len(c), c.total) for c in empty] == [("nothing", 0, 0)]
    chunks = store.iter_metric_history(new_id(), "c")
    with pytest.raises(NotFound):
        next(chunks)
    # Left after one chunk, the rest is released: the store still reads and writes.
    unfinished = store.iter_metric_history(run_id, "c")
    assert len(next(unfinished)) > 0
    unfinished.close()
    write_series(store, run_id, "after", [0], [1.0])
    assert store.get_metric_history(run_id, "after").values == [1.0]

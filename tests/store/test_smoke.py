from __future__ import annotations

import math

from conftest import unique
from keel.entities import MetricColumns, RunWrite, WriteBatch


def test_create_log_and_read_back(store) -> None:
    exp = store.create_experiment(unique())
    run = store.create_run(exp, run_name="r")
    batch = WriteBatch(
        "b-" + run.run_id,
        [
            RunWrite(
                run.run_id,
                params={"model": "rf"},
                metrics=MetricColumns(
                    ["acc", "acc", "x"], [0.5, 0.9, math.nan], [1, 2, 3], [0, 1, 0]
                ),
            )
        ],
    )
    store.write(batch)
    store.write(batch)  # a replay writes nothing twice
    got = store.get_run(run.run_id)
    assert got.data.params == {"model": "rf"}
    assert got.data.metrics["acc"] == 0.9
    assert math.isnan(got.data.metrics["x"])
    assert len(store.get_metric_history(run.run_id, "acc")) == 2

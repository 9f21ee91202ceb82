"""Runs as a pandas DataFrame, in MLflow's columns (``keel.search_runs``).

``run_id, experiment_id, status, artifact_uri, start_time, end_time`` (UTC datetimes),
``run_name``, then ``metrics.<key>`` (the latest value; NaN where a run has none),
``params.<key>`` and ``tags.<key>`` (missing where a run has none: None or NaN, as the
pandas version stores strings), each group sorted by key. ``tags.mlflow.runName`` holds
the run's name and ``tags.mlflow.parentRunId`` a child's parent, where MLflow's scripts
read them.
Built a column at a time: one list per column and one DataFrame from them, never a frame
per run (10,000 runs with 50 keys take tens of milliseconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from keel.entities import Run
from keel.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RUN_NAME_TAG", "runs_to_frame"]

RUN_NAME_TAG = "mlflow.runName"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:  # numpy comes with pandas
        raise InvalidArgument(
            "output_format 'pandas': needs pandas (pip install pandas); "
            "or pass output_format='list' for Run objects"
        ) from None
    return pandas


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    pd = _pandas()
    import numpy as np

    infos = [r.info for r in runs]
    columns: dict[str, Any] = {
        "run_id": [i.run_id for i in infos],
        "experiment_id": [i.experiment_id for i in infos],
        "status": [str(i.status) for i in infos],
        "artifact_uri": [i.artifact_uri for i in infos],
        "start_time": pd.to_datetime([i.start_time for i in infos], unit="ms", utc=True),
        "end_time": pd.to_datetime([i.end_time for i in infos], unit="ms", utc=True),
        "run_name": [i.run_name for i in infos],
    }
    metrics = [r.data.metrics for r in runs]
    for key in sorted({k for m in metrics for k in m}):
        columns[f"metrics.{key}"] = np.array([m.get(key, math.nan) for m in metrics], np.float64)
    params = [r.data.params for r in runs]
    for key in sorted({k for d in params for k in d}):
        columns[f"params.{key}"] = [d.get(key) for d in params]
    tags = [r.data.tags for r in runs]
    for key in sorted({k for d in tags for k in d} | {RUN_NAME_TAG}):
        if key == RUN_NAME_TAG:  # MLflow keeps the name as a tag; scripts read it there
            columns[f"tags.{key}"] = [
                d.get(key, i.run_name) for d, i in zip(tags, infos, strict=True)
            ]
        else:
            columns[f"tags.{key}"] = [d.get(key) for d in tags]
    return pd.DataFrame(columns)

"""Fill an anchor's SQLite database with the search dataset, straight into its own schema.

Seeding 20,000 runs through MLflow's REST API takes about 15 minutes, so the anchors
are seeded with SQL through a separate connection while their server sits idle; the
search phase then checks through the API that the server sees exactly these runs.

Schemas, as the servers create them (MLflow 3.17.2, FastTrackML 0.6.0):
- MLflow: ``runs``, ``params(key, value, run_uuid)``, ``tags``, ``metrics`` (history)
  and ``latest_metrics`` (what search filters and sorts on); the run name is also the
  ``mlflow.runName`` tag.
- FastTrackML: the same tables with extra columns: ``runs.row_num`` (a global counter),
  ``params.value_str/value_int/value_float``, and ``metrics.iter``/``context_id``,
  ``latest_metrics.last_iter``/``context_id``, where the context is the ``{}`` row of
  ``contexts``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

from workloads._dataset import SeedRun

USER = "bench"


def _connect(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, timeout=60, isolation_level=None)


def _artifact_location(conn: sqlite3.Connection, experiment_id: str) -> str:
    row = conn.execute(
        "SELECT artifact_location FROM experiments WHERE experiment_id = ?", (int(experiment_id),)
    ).fetchone()
    if row is None:
        raise LookupError(f"experiment {experiment_id} is not in the database")
    return str(row[0])


def _params(runs: Iterable[SeedRun]) -> Iterator[tuple[str, str, str]]:
    return ((key, value, run.run_id) for run in runs for key, value in run.params.items())


def _metrics(runs: Iterable[SeedRun]) -> Iterator[tuple[str, float, int, str]]:
    return (
        (key, value, run.start_time, run.run_id)
        for run in runs
        for key, value in run.metrics.items()
    )


def seed_mlflow(db_path: Path, experiment_id: str, runs: list[SeedRun]) -> None:
    with closing(_connect(db_path)) as conn:
        location = _artifact_location(conn, experiment_id)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
            " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
            " artifact_uri, experiment_id, deleted_time)"
            " VALUES (?, ?, 'UNKNOWN', '', '', ?, 'FINISHED', ?, ?, '', 'active', ?, ?, NULL)",
            (
                (r.run_id, r.name, USER, r.start_time, r.end_time,
                 f"{location}/{r.run_id}/artifacts", int(experiment_id))
                for r in runs
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", _params(runs)
        )
        conn.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
            (
                (key, value, run.run_id)
                for run in runs
                for key, value in {**run.tags, "mlflow.runName": run.name}.items()
            ),
        )
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, 0, 0)",
            _metrics(runs),
        )
        conn.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, 0, 0)",
            _metrics(runs),
        )
        conn.execute("COMMIT")


def _empty_context_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT id FROM contexts WHERE json = '{}'").fetchone()
    if row is not None:
        return int(row[0])
    return int(conn.execute("INSERT INTO contexts (json) VALUES ('{}') RETURNING id").fetchone()[0])


def seed_fasttrackml(db_path: Path, experiment_id: str, runs: list[SeedRun]) -> None:
    with closing(_connect(db_path)) as conn:
        location = _artifact_location(conn, experiment_id)
        conn.execute("BEGIN IMMEDIATE")
        context_id = _empty_context_id(conn)
        (next_row,) = conn.execute("SELECT COALESCE(MAX(row_num), -1) + 1 FROM runs").fetchone()
        conn.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
            " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
            " artifact_uri, experiment_id, deleted_time, row_num)"
            " VALUES (?, ?, 'UNKNOWN', '', '', ?, 'FINISHED', ?, ?, '', 'active', ?, ?, NULL, ?)",
            (
                (r.run_id, r.name, USER, r.start_time, r.end_time,
                 f"{location}/{r.run_id}/artifacts", int(experiment_id), next_row + index)
                for index, r in enumerate(runs)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO params (key, value_str, value_int, value_float, run_uuid)"
            " VALUES (?, ?, NULL, NULL, ?)",
            _params(runs),
        )
        conn.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
            ((key, value, run.run_id) for run in runs for key, value in run.tags.items()),
        )
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan, iter, context_id)"
            " VALUES (?, ?, ?, ?, 0, 0, 1, ?)",
            ((*row, context_id) for row in _metrics(runs)),
        )
        conn.executemany(
            "INSERT INTO latest_metrics"
            " (key, value, timestamp, run_uuid, step, is_nan, last_iter, context_id)"
            " VALUES (?, ?, ?, ?, 0, 0, 1, ?)",
            ((*row, context_id) for row in _metrics(runs)),
        )
        conn.execute("COMMIT")

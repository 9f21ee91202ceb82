"""Metric history: the full series, or a downsampled one that keeps the extremes."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from keel.entities import MetricHistory
from keel.errors import InvalidArgument, NotFound
from keel.store.sql.tables import metric_series, runs

NAN = float("nan")
MIN_MAX_POINTS = 4

# One pass over the covering index: split the step range into buckets and keep, in each,
# the points holding the lowest and the highest value, plus the series' first and last
# point. Windows are standard SQL, so SQLite and PostgreSQL run the same statement.
_DOWNSAMPLE = text(
    """
    WITH p AS (
        SELECT step, timestamp, value,
               CAST((step - :lo) * :buckets / :span AS BIGINT) AS bucket
        FROM metric_points WHERE series_id = :sid
    ), r AS (
        SELECT step, timestamp, value,
               ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY
                   CASE WHEN value IS NULL THEN 1 ELSE 0 END, value, step) AS low,
               ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY
                   CASE WHEN value IS NULL THEN 1 ELSE 0 END, value DESC, step) AS high
        FROM p
    )
    SELECT step, timestamp, value FROM r
    WHERE low = 1 OR high = 1 OR step = :lo OR step = :hi
    ORDER BY step, timestamp
    """
)


def metric_history(
    conn: Connection, run_id: str, key: str, *, max_points: int | None = None
) -> MetricHistory:
    if max_points is not None and max_points < MIN_MAX_POINTS:
        raise InvalidArgument(f"max_points: must be at least {MIN_MAX_POINTS}, got {max_points}")
    s = metric_series.c
    row = conn.execute(
        select(s.series_id, s.points).where(s.run_uuid == run_id, s.key == key)
    ).first()
    if row is None:
        if conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
            raise NotFound(f"run {run_id}: no such run")
        return MetricHistory(key, [], [], [])
    series_id, total = row
    if max_points is None or total <= max_points:
        result = conn.exec_driver_sql(
            "SELECT step, timestamp, value FROM metric_points WHERE series_id = "
            f"{int(series_id)} ORDER BY series_id, step, timestamp",
        )
    else:
        lo, hi = conn.execute(
            text("SELECT MIN(step), MAX(step) FROM metric_points WHERE series_id = :sid"),
            {"sid": series_id},
        ).one()
        # Two points per bucket, and the first and last step: at most max_points in all
        # (more only when many points share the first or last step).
        buckets = max(1, (max_points - 2) // 2)
        result = conn.execute(
            _DOWNSAMPLE,
            {"sid": series_id, "lo": lo, "hi": hi, "span": hi - lo + 1, "buckets": buckets},
        )
    rows = result.all()
    steps = [r[0] for r in rows]
    timestamps = [r[1] for r in rows]
    values = [NAN if r[2] is None else r[2] for r in rows]
    return MetricHistory(key, steps, values, timestamps, total=total)

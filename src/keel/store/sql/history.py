"""Metric history: the full series, or a downsampled one that keeps the extremes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter

from sqlalchemy import Connection, select

from keel.entities import MetricHistory
from keel.errors import InvalidArgument, NotFound
from keel.store.sql.rollups import (
    MIN_POINTS,
    Buckets,
    Extremes,
    read_rollups,
    rollup_level,
    summarise,
)
from keel.store.sql.tables import metric_series, runs

NAN = float("nan")
MIN_MAX_POINTS = 4
CHUNK_POINTS = 65_536
"""Points per chunk of a streamed history: the rows one fetch holds in memory."""
Point = tuple[int, int, float | None]  # step, timestamp, value


def metric_history(
    conn: Connection, run_id: str, key: str, *, max_points: int | None = None
) -> MetricHistory:
    """Every point in step order; or, when the series has more than ``max_points``, at
    most that many: the series' first and last point and, in each of
    ``(max_points - 2) // 2`` equal step ranges, its lowest and highest point."""
    return MetricHistory.join(metric_history_chunks(conn, run_id, key, max_points=max_points))


def metric_history_chunks(
    conn: Connection,
    run_id: str,
    key: str,
    *,
    max_points: int | None = None,
    chunk_points: int = CHUNK_POINTS,
) -> Iterator[MetricHistory]:
    """:func:`metric_history` in step order as chunks of at most ``chunk_points`` points,
    each with the series' ``total``; at least one chunk (empty for an empty series). The
    full series is read with a server-side cursor, one chunk of rows at a time; ``conn``
    must stay open (in its transaction) until the chunks are consumed."""
    if max_points is not None and max_points < MIN_MAX_POINTS:
        raise InvalidArgument(f"max_points: must be at least {MIN_MAX_POINTS}, got {max_points}")
    s = metric_series.c
    row = conn.execute(
        select(s.series_id, s.points).where(s.run_uuid == run_id, s.key == key)
    ).first()
    if row is None:
        if conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
            raise NotFound(f"run {run_id}: no such run")
        yield MetricHistory(key, [], [], [])
        return
    series_id, total = int(row[0]), int(row[1])
    if max_points is None or total <= max_points:
        partitions = _point_rows(conn, series_id, chunk_points)
    else:
        points = _downsampled(conn, series_id, max_points, total)
        partitions = (points[i : i + chunk_points] for i in range(0, len(points), chunk_points))
    sent = 0
    for rows in partitions:
        values = list(map(_VALUE, rows))
        sent += len(values)
        yield MetricHistory(
            key,
            list(map(_STEP, rows)),
            [NAN if v is None else v for v in values] if None in values else values,
            list(map(_TIMESTAMP, rows)),
            total=total,
        )
    if not sent:
        yield MetricHistory(key, [], [], [], total=total)


_STEP, _TIMESTAMP, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2)


def _point_rows(conn: Connection, series_id: int, chunk_points: int) -> Iterator[Sequence[Point]]:
    """The series' rows in step order, ``chunk_points`` at a time, from the driver's
    own cursor (SQLAlchemy's row objects would double the time): a server-side cursor
    on PostgreSQL; SQLite's steps through the table as it is fetched."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    named = conn.dialect.name == "postgresql"
    cursor = dbapi.cursor(f"keel_history_{series_id}") if named else dbapi.cursor()
    try:
        cursor.execute(_points_sql(series_id))
        while rows := cursor.fetchmany(chunk_points):
            yield rows
    finally:
        cursor.close()


def _points_sql(series_id: int) -> str:
    return (
        "SELECT step, timestamp, value FROM metric_points "
        f"WHERE series_id = {series_id} ORDER BY series_id, step, timestamp, seq"
    )


def _all_points(conn: Connection, series_id: int) -> list[Point]:
    return conn.exec_driver_sql(_points_sql(series_id)).all()  # type: ignore[return-value]


def _edge(conn: Connection, series_id: int, direction: str) -> Point:
    return conn.exec_driver_sql(
        "SELECT step, timestamp, value FROM metric_points WHERE series_id = "
        f"{series_id} ORDER BY series_id {direction}, step {direction}, timestamp {direction} "
        "LIMIT 1"
    ).one()


def _downsampled(conn: Connection, series_id: int, max_points: int, total: int) -> list[Point]:
    first, last = _edge(conn, series_id, "ASC"), _edge(conn, series_id, "DESC")
    lo, hi = first[0], last[0]
    count = max(1, (max_points - 2) // 2)
    even = Buckets.even(lo, hi, count)
    # The level follows the points wanted, not the series' length: the coarsest that
    # still has a bucket for each of our ranges, so we read at most 8 buckets a range.
    level = rollup_level(lo, hi, count) if total > MIN_POINTS else None
    if level is not None:
        merged: dict[int, Extremes] = {}
        for bucket, extremes in read_rollups(conn, series_id, level):
            ours = even.of(max(bucket << level, lo))
            found = merged.get(ours)
            merged[ours] = extremes if found is None else found.merge(extremes)
        extremes_list = list(merged.values())
    else:
        # A short step range: reading its points is cheap.
        rows = _all_points(conn, series_id)
        extremes_list = list(
            summarise(
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], even
            ).values()
        )
    chosen: set[Point] = {first, last}
    for e in extremes_list:
        for point in (e.low, e.high):
            if point is not None:
                value, step, timestamp = point
                chosen.add((step, timestamp, value))
    return sorted(chosen, key=lambda p: (p[0], p[1]))

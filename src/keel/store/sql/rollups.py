"""Metric rollups: each series' lowest and highest point per bucket of steps, kept as
points are written, so a chart-sized history of a long series reads a few hundred rows
instead of every point.

Level ``L`` buckets steps by ``step >> L``. Level 6 (64 steps a bucket) is summarised from
the written points; levels 9, 12, 15 and 18 (512 to 262,144 steps) from level 6. A reader
takes the coarsest level that still has a bucket for each range it wants
(:func:`rollup_level`), so it reads between one and eight buckets a range, whatever the
series' length. Summaries are computed with slices and the C-level ``min``/``max`` rather
than a Python loop per point.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlalchemy import Connection, and_, or_, select

from keel.store.sql.tables import metric_rollups

FINE = 6
LEVELS = (FINE, 9, 12, 15, 18)
"""The levels kept, finest first (migration 0004 derived 9, 15 and 18 for older series)."""
MIN_POINTS = 4096
"""Series with at most this many points have no rollups."""


def rollup_level(first_step: int, last_step: int, ranges: int) -> int | None:
    """The coarsest level with at least ``ranges`` buckets over the steps, so every range
    a reader wants gets a bucket; None when even the finest has too few (read the points).

    >>> rollup_level(0, 999_999, 499), rollup_level(0, 999_999, 4_999)
    (9, 6)
    """
    span = last_step - first_step + 1
    for level in reversed(LEVELS):
        if span >> level >= ranges:
            return level
    return None


SeriesColumns = tuple[list[int], list[int], list[float | None]]


class Extremes(NamedTuple):
    """A bucket's point count and its lowest and highest point (``None`` if all NaN)."""

    points: int
    low: tuple[float, int, int] | None  # (value, step, timestamp)
    high: tuple[float, int, int] | None

    def merge(self, other: Extremes) -> Extremes:
        return Extremes(
            self.points + other.points,
            _pick(self.low, other.low, min),
            _pick(self.high, other.high, max),
        )


Point = tuple[float, int, int]  # value, step, timestamp


def _pick(a: Point | None, b: Point | None, f: Callable[..., Point]) -> Point | None:
    if a is None:
        return b
    if b is None:
        return a
    return f(a, b, key=lambda p: p[0])


class Buckets(NamedTuple):
    """How steps map to buckets: ``of(step)``, and ``end(bucket)``, the first step past it."""

    of: Callable[[int], int]
    end: Callable[[int], int]

    @classmethod
    def by_shift(cls, shift: int) -> Buckets:
        return cls(lambda step: step >> shift, lambda b: (b + 1) << shift)

    @classmethod
    def even(cls, lo: int, hi: int, count: int) -> Buckets:
        """``count`` buckets of equal width over the steps ``lo..hi``."""
        span = hi - lo + 1
        return cls(
            lambda step: (step - lo) * count // span,
            lambda b: lo + -(-(b + 1) * span // count),
        )


def summarise(
    steps: Sequence[int],
    timestamps: Sequence[int],
    values: Sequence[float | None],
    buckets: Buckets,
) -> dict[int, Extremes]:
    """Extremes per bucket. NaN values (``None``) count as points but are never an
    extreme."""
    n = len(steps)
    if n == 0:
        return {}
    if steps != sorted(steps):  # sorted() is linear on sorted input, the usual case
        order = sorted(range(n), key=steps.__getitem__)
        steps = [steps[i] for i in order]
        timestamps = [timestamps[i] for i in order]
        values = [values[i] for i in order]
    out: dict[int, Extremes] = {}
    start = 0
    while start < n:
        bucket = buckets.of(steps[start])
        stop = bisect_left(steps, buckets.end(bucket), start)
        chunk = values[start:stop]
        clean: list[float] = [v for v in chunk if v is not None]
        if clean and math.isnan(sum(clean)):  # NaN, or +inf and -inf together
            clean = [v for v in clean if not math.isnan(v)]
        low = high = None
        if clean:
            lo_v, hi_v = min(clean), max(clean)
            lo_i, hi_i = start + chunk.index(lo_v), start + chunk.index(hi_v)
            low = (lo_v, steps[lo_i], timestamps[lo_i])
            high = (hi_v, steps[hi_i], timestamps[hi_i])
        out[bucket] = Extremes(stop - start, low, high)
        start = stop
    return out


def coarsen(fine: dict[int, Extremes], by: int) -> dict[int, Extremes]:
    out: dict[int, Extremes] = {}
    for bucket, extremes in fine.items():
        key = bucket >> by
        found = out.get(key)
        out[key] = extremes if found is None else found.merge(extremes)
    return out


def update_rollups(conn: Connection, written: Sequence[tuple[int, SeriesColumns, int]]) -> None:
    """Fold newly written points into the rollups. ``written`` holds, per series, its new
    points and how many it had before. Short series have no rollups (reading them whole is
    cheap); a series crossing ``MIN_POINTS`` is summarised from all its points once."""
    rows = []
    for series_id, (steps, timestamps, values), before in written:
        if before + len(steps) <= MIN_POINTS:
            continue
        if before > MIN_POINTS:
            fine = summarise(steps, timestamps, values, Buckets.by_shift(FINE))
            merge = True
        else:
            if before:
                steps, timestamps, values = _all_columns(conn, series_id)
            fine = summarise(steps, timestamps, values, Buckets.by_shift(FINE))
            merge = False
        levels = {FINE: fine}
        for finer, level in itertools.pairwise(LEVELS):
            levels[level] = coarsen(levels[finer], level - finer)
        stored = _stored(conn, series_id, levels) if merge else {}
        for level, fresh in levels.items():
            for bucket, extremes in fresh.items():
                old = stored.get((level, bucket))
                merged = extremes if old is None else old.merge(extremes)
                rows.append(_row(series_id, level, bucket, merged))
    if not rows:
        return
    from keel.store.sql.writes import dialect_insert

    stmt = dialect_insert(conn, metric_rollups)
    columns = [c for c in rows[0] if c not in ("series_id", "level", "bucket")]
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["series_id", "level", "bucket"],
            set_={c: stmt.excluded[c] for c in columns},
        ),
        rows,
    )


def _all_columns(conn: Connection, series_id: int) -> SeriesColumns:
    rows = conn.exec_driver_sql(
        "SELECT step, timestamp, value FROM metric_points "
        f"WHERE series_id = {int(series_id)} ORDER BY series_id, step, timestamp, seq"
    ).all()
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


_r = metric_rollups.c
_EXTREME_COLUMNS = (
    _r.bucket,
    _r.points,
    _r.min_value,
    _r.min_step,
    _r.min_timestamp,
    _r.max_value,
    _r.max_step,
    _r.max_timestamp,
)


def _stored(
    conn: Connection, series_id: int, levels: dict[int, dict[int, Extremes]]
) -> dict[tuple[int, int], Extremes]:
    """The stored buckets of each level in the range of buckets given, in one query."""
    r = metric_rollups.c
    ranges = [
        and_(r.level == level, r.bucket.between(min(fresh), max(fresh)))
        for level, fresh in levels.items()
    ]
    query = select(r.level, *_EXTREME_COLUMNS).where(r.series_id == series_id, or_(*ranges))
    return {(row[0], row[1]): _extremes(row[2:]) for row in conn.execute(query)}


def _extremes(row: Sequence[object]) -> Extremes:
    points, lo_v, lo_s, lo_t, hi_v, hi_s, hi_t = row
    low = (lo_v, lo_s, lo_t) if lo_v is not None else None
    high = (hi_v, hi_s, hi_t) if hi_v is not None else None
    return Extremes(points, low, high)  # type: ignore[arg-type]


def _row(series_id: int, level: int, bucket: int, e: Extremes) -> dict[str, object]:
    low = e.low or (None, None, None)
    high = e.high or (None, None, None)
    return {
        "series_id": series_id,
        "level": level,
        "bucket": bucket,
        "points": e.points,
        "min_value": low[0],
        "min_step": low[1],
        "min_timestamp": low[2],
        "max_value": high[0],
        "max_step": high[1],
        "max_timestamp": high[2],
    }


def read_rollups(conn: Connection, series_id: int, level: int) -> list[tuple[int, Extremes]]:
    r = metric_rollups.c
    query = (
        select(*_EXTREME_COLUMNS)
        .where(r.series_id == series_id, r.level == level)
        .order_by(r.bucket)
    )
    return [(row[0], _extremes(row[1:])) for row in conn.execute(query)]

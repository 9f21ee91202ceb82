"""The monitoring benchmark's tables: 20 columns (15 numeric, 5 categorical), a reference
and a current window drawn from the same distributions except 8 shifted columns.

Numeric columns mix shapes (normal, log-normal, uniform, integer counts); categorical ones
hold 4-12 string categories with skewed frequencies. In the current window ``num_0`` to
``num_4`` move (mean or scale) and ``cat_0`` to ``cat_2`` change their frequencies: big
enough that a 0.1 normed Wasserstein or Jensen-Shannon threshold is crossed, as Evidently's
defaults test at these sizes. Written to Parquet in slices, so 10,000,000 rows never sit
in memory at once.

The harness runs this file as a process of its own (``python _monitoring_data.py write
PATH ROWS SEED reference|current``, ``... profile PARQUET JSON``) so that it never loads
numpy or the tables itself: on Linux a child's ``ru_maxrss`` starts from its parent's
peak (the parent's pages are counted until ``exec``), so a fat parent would inflate every
peak it measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NUMERIC = [f"num_{i}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
SHIFTED = NUMERIC[:5] + CATEGORICAL[:3]
SLICE_ROWS = 1_000_000
ROW_GROUP_ROWS = 262_144
"""Rows per Parquet row group: a reader decodes one at a time (pyarrow's default, 1Mi
rows, would make every batch a 20-column million-row slab)."""


def _numeric(rng: Any, index: int, rows: int, shifted: bool) -> Any:
    import numpy as np

    shape = index % 4
    if shape == 0:
        values = rng.normal(10.0, 2.0, rows)
        return values + (1.0 if shifted else 0.0)
    if shape == 1:
        values = rng.lognormal(0.0, 0.5, rows)
        return values * (1.4 if shifted else 1.0)
    if shape == 2:
        low = 0.3 if shifted else 0.0
        return rng.uniform(low, 1.0 + low, rows)
    counts = rng.poisson(60 if shifted else 50, rows)
    return counts.astype(np.int64)


def _categorical(rng: Any, index: int, rows: int, shifted: bool) -> Any:
    import numpy as np

    size = 4 + 2 * index
    weights = 1.0 / np.arange(1, size + 1)
    if shifted:
        weights = weights[::-1]  # the rarest category becomes the commonest
    codes = rng.choice(size, size=rows, p=weights / weights.sum())
    names = np.array([f"c{k}" for k in range(size)], dtype=object)
    return names[codes]


def table(rows: int, seed: int, *, current: bool) -> Any:
    """A pyarrow table of ``rows`` rows; ``current`` applies the shifts."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, int(current)])
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        columns[name] = _numeric(rng, i, rows, current and name in SHIFTED)
    for i, name in enumerate(CATEGORICAL):
        columns[name] = pa.array(_categorical(rng, i, rows, current and name in SHIFTED))
    return pa.table(columns)


def write(path: Path, rows: int, seed: int, *, current: bool) -> Path:
    """Write ``rows`` rows to ``path``, generated in slices of SLICE_ROWS."""
    import pyarrow.parquet as pq

    writer = None
    try:
        done, part = 0, 0
        while done < rows:
            size = min(SLICE_ROWS, rows - done)
            piece = table(size, seed * 1000 + part, current=current)
            if writer is None:
                writer = pq.ParquetWriter(path, piece.schema)
            writer.write_table(piece, row_group_size=ROW_GROUP_ROWS)
            done, part = done + size, part + 1
    finally:
        if writer is not None:
            writer.close()
    return path


def main(argv: list[str]) -> None:
    if argv[:1] == ["write"] and len(argv) == 5:
        write(Path(argv[1]), int(argv[2]), int(argv[3]), current=argv[4] == "current")
    elif argv[:1] == ["profile"] and len(argv) == 3:
        from keel.monitoring import ReferenceProfile

        ReferenceProfile.of(Path(argv[1])).save(Path(argv[2]))
    else:
        raise SystemExit(
            "usage: _monitoring_data.py write PATH ROWS SEED reference|current\n"
            "       _monitoring_data.py profile PARQUET JSON"
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

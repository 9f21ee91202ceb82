"""A reference's statistics, computed once and stored as JSON, so that later windows are
compared without the reference's rows.

Per numeric column: counts (finite values, nulls and NaN, ±inf), min, max, mean, std,
a few quantiles, a 16,384-bin histogram on fixed edges between min and max, the exact
counts of its values when it has at most 64, and its sorted values when it has at most
1,000 (the Kolmogorov-Smirnov test is then exact). Per categorical column: counts of its
10,000 most frequent values and one "other" bucket for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.monitoring.binning import FEW_VALUES, FINE_BINS, histogram
from keel.monitoring.columns import Kind, category_counts, is_integer, numeric_values
from keel.monitoring.parallel import each
from keel.monitoring.sources import open_source

FORMAT = "keel.monitoring.reference/1"
"""The profile's format, written in every file and checked on load."""

EXACT_ROWS = 1000
"""References with at most this many finite values keep them all (Evidently's KS limit)."""

CATEGORY_CAP = 10_000
"""Categories kept by name per column; rarer ones share the "other" bucket."""

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class NumericReference:
    """A numeric column's statistics (see the module docstring)."""

    rows: int
    nulls: int
    posinf: int
    neginf: int
    count: int
    min: float = 0.0
    max: float = 0.0
    mean: float = 0.0
    std: float = 0.0
    quantiles: dict[str, float] = field(default_factory=dict)
    hist: Any = None  # np.ndarray of FINE_BINS counts
    values: Any = None  # sorted np.ndarray when count <= EXACT_ROWS
    distinct: dict[float, int] | None = None
    integer: bool = False  # an integer type
    kind: Kind = "numeric"

    @classmethod
    def of(cls, column: Any) -> NumericReference:
        import numpy as np

        x = numeric_values(column)
        integer = is_integer(column)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(x)
        all_finite = bool(finite.all())
        f = x if all_finite else x[finite]
        nan = 0 if all_finite else int(np.isnan(x).sum())
        posinf = 0 if all_finite else int(np.isposinf(x).sum())
        neginf = 0 if all_finite else int(np.isneginf(x).sum())
        if f.size == 0:
            return cls(
                rows=x.size, nulls=nan, posinf=posinf, neginf=neginf, count=0, integer=integer
            )
        low, high = float(f.min()), float(f.max())
        hist = histogram(f, low, high, FINE_BINS)
        distinct = None
        if np.count_nonzero(hist) <= FEW_VALUES:
            values, counts = np.unique(f, return_counts=True)
            if values.size <= FEW_VALUES:
                distinct = dict(zip(values.tolist(), counts.tolist(), strict=True))
        return cls(
            rows=x.size,
            nulls=nan,
            posinf=posinf,
            neginf=neginf,
            count=f.size,
            min=low,
            max=high,
            mean=float(f.mean()),
            std=float(f.std()),
            quantiles=_quantiles(hist, low, high),
            hist=hist,
            values=np.sort(f) if f.size <= EXACT_ROWS else None,
            distinct=distinct,
            integer=integer,
        )

    def to_json(self) -> dict[str, Any]:
        import numpy as np

        data: dict[str, Any] = {
            "kind": "numeric",
            "rows": self.rows,
            "nulls": self.nulls,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "count": self.count,
            "integer": self.integer,
        }
        if self.count:
            nonzero = np.flatnonzero(self.hist)
            data |= {
                "min": self.min,
                "max": self.max,
                "mean": self.mean,
                "std": self.std,
                "quantiles": self.quantiles,
                "hist": {
                    "bins": int(self.hist.size),
                    "index": nonzero.tolist(),
                    "counts": self.hist[nonzero].tolist(),
                },
                "values": None if self.values is None else self.values.tolist(),
                "distinct": None
                if self.distinct is None
                else [[v, c] for v, c in self.distinct.items()],
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NumericReference:
        import numpy as np

        base: dict[str, Any] = {
            k: int(data[k]) for k in ("rows", "nulls", "posinf", "neginf", "count")
        }
        base["integer"] = bool(data.get("integer", False))
        if not base["count"]:
            return cls(**base)
        hist = np.zeros(int(data["hist"]["bins"]), dtype=np.int64)
        hist[np.asarray(data["hist"]["index"], dtype=np.intp)] = data["hist"]["counts"]
        values = data.get("values")
        distinct = data.get("distinct")
        return cls(
            **base,
            min=float(data["min"]),
            max=float(data["max"]),
            mean=float(data["mean"]),
            std=float(data["std"]),
            quantiles={str(k): float(v) for k, v in data["quantiles"].items()},
            hist=hist,
            values=None if values is None else np.asarray(values, dtype=np.float64),
            distinct=None if distinct is None else {float(v): int(c) for v, c in distinct},
        )


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical column's counts: the most frequent values by name, the rest in one
    bucket (``other`` rows over ``other_distinct`` values)."""

    rows: int
    nulls: int
    counts: dict[Any, int]
    other: int = 0
    other_distinct: int = 0
    kind: Kind = "categorical"

    @property
    def count(self) -> int:
        return sum(self.counts.values()) + self.other

    @classmethod
    def of(cls, column: Any) -> CategoricalReference:
        import numpy as np

        values, counts, nulls = category_counts(column)
        other = other_distinct = 0
        if len(values) > CATEGORY_CAP:
            order = np.argsort(-counts, kind="stable")
            kept, rest = order[:CATEGORY_CAP], order[CATEGORY_CAP:]
            other, other_distinct = int(counts[rest].sum()), int(rest.size)
            values, counts = [values[i] for i in kept], counts[kept]
        return cls(
            rows=int(counts.sum()) + other + nulls,
            nulls=nulls,
            counts=dict(zip(values, counts.tolist(), strict=True)),
            other=other,
            other_distinct=other_distinct,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "rows": self.rows,
            "nulls": self.nulls,
            "counts": [[v, c] for v, c in self.counts.items()],
            "other": self.other,
            "other_distinct": self.other_distinct,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CategoricalReference:
        return cls(
            rows=int(data["rows"]),
            nulls=int(data["nulls"]),
            counts={_key(v): int(c) for v, c in data["counts"]},
            other=int(data["other"]),
            other_distinct=int(data["other_distinct"]),
        )


ColumnReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class ReferenceProfile:
    """Statistics of a reference table, column by column, in the table's order.

    Build one with ``ReferenceProfile.of(table_or_parquet_path)``, keep it with
    ``save(path)`` and read it back with ``ReferenceProfile.load(path)``; pass it to
    ``keel.monitoring.drift`` in place of the reference."""

    columns: dict[str, ColumnReference]

    @property
    def kinds(self) -> dict[str, Kind]:
        return {name: column.kind for name, column in self.columns.items()}

    @property
    def rows(self) -> int:
        return max((c.rows for c in self.columns.values()), default=0)

    @classmethod
    def of(cls, data: Any, columns: Sequence[str] | None = None) -> ReferenceProfile:
        """The profile of a pandas/polars/Arrow table or Parquet file, read one column at
        a time."""
        source = open_source(data, role="reference")
        names = list(source.kinds) if columns is None else list(columns)
        missing = [name for name in names if name not in source.kinds]
        if missing:
            raise InvalidArgument(f"reference: no column {', '.join(map(repr, missing))}")
        readers = source.column_readers(names)

        def profile(name: str) -> ColumnReference:
            column = readers[name]()
            if source.kinds[name] == "numeric":
                return NumericReference.of(column)
            return CategoricalReference.of(column)

        return cls(columns=dict(zip(names, each(profile, names), strict=True)))

    def select(self, names: Sequence[str]) -> ReferenceProfile:
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise InvalidArgument(f"reference: no column {', '.join(map(repr, missing))}")
        return ReferenceProfile(columns={name: self.columns[name] for name in names})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "columns": [{"name": n, **c.to_json()} for n, c in self.columns.items()],
        }

    @classmethod
    def from_json(cls, data: Any) -> ReferenceProfile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise InvalidArgument(f"reference profile: format must be {FORMAT!r}, got {found!r}")
        columns: dict[str, ColumnReference] = {}
        try:
            for entry in data["columns"]:
                reader = NumericReference if entry["kind"] == "numeric" else CategoricalReference
                columns[str(entry["name"])] = reader.from_json(entry)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(f"reference profile: malformed column entry ({error})") from None
        return cls(columns=columns)

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON to ``path``; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), allow_nan=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InvalidArgument(f"reference profile {path}: cannot read it ({error})") from None
        return cls.from_json(data)


def _key(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int)) else str(value)


def _quantiles(hist: Any, low: float, high: float) -> dict[str, float]:
    """Quantiles read from the fine histogram (within one bin's width of the exact ones)."""
    import numpy as np

    cumulative = np.cumsum(hist) / hist.sum()
    edges = np.linspace(low, high, hist.size + 1)
    positions = np.concatenate([[0.0], cumulative])
    return {str(q): float(np.interp(q, positions, edges)) for q in QUANTILES}

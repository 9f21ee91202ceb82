"""``keel.monitoring.drift``: compare a current window with a reference, column by column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.monitoring.parallel import each
from keel.monitoring.quality import column_quality, signature_violations
from keel.monitoring.reference import ColumnReference, ReferenceProfile
from keel.monitoring.result import ColumnDrift, DatasetDrift, DriftResult
from keel.monitoring.sources import Source, open_source
from keel.monitoring.stattests import StatTest, default_test, lookup
from keel.monitoring.window import Window, window_for

DATASET_SHARE = 0.5
"""The dataset drifts when at least this share of its tested columns do (Evidently's)."""


class SchemaMismatch(InvalidArgument):
    """The reference and the window do not have the same columns of the same kinds;
    ``differences`` lists every one."""

    def __init__(self, differences: list[str]) -> None:
        super().__init__("the reference and the current window differ: " + "; ".join(differences))
        self.differences = differences


def drift(
    reference: Any,
    current: Any,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    signature: Any = None,
) -> DriftResult:
    """Whether ``current`` drifted from ``reference``, per column and for the dataset.

    ``reference``: a pandas, polars or Arrow table, a Parquet file's path, a
    ``ReferenceProfile`` or the path of one saved as JSON. ``current``: a table or a
    Parquet path (read in batches, so its size does not bound memory). ``columns``: the
    columns to compare (default: all, and then both sides must have the same).
    ``tests``: a test per column by name (ks, chisquare, z, psi, wasserstein,
    jensenshannon) in place of the automatic choice; ``thresholds``: a threshold per
    column in place of the test's default. ``signature``: a model's input signature
    (``keel.models.Signature``) the window's rows are checked against; what breaks it is
    in ``result.violations``.
    """
    if columns is not None:
        columns = _column_list(columns)
    profile = _profile(reference, columns)
    source = open_source(current, role="current")
    names = list(profile.columns) if columns is None else list(columns)
    _check_schema(profile, source, names, whole=columns is None)
    chosen = _overrides(profile, names, tests, thresholds)
    windows = {name: window_for(profile.columns[name]) for name in names}
    if source.rows:
        for batch in source.batches(names):
            each(lambda name: windows[name].add(batch[name]), names)  # noqa: B023
    results = [
        _column(name, profile.columns[name], windows[name], chosen.get(name), thresholds)
        for name in names
    ]
    violations = [] if signature is None else signature_violations(signature, source.kinds, windows)
    return DriftResult(
        columns=results,
        violations=violations,
        dataset=_dataset(results, profile.rows, source.rows),
        _sketches={name: (profile.columns[name], windows[name]) for name in names},
    )


def _column_list(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise InvalidArgument("columns: must be a list of column names")
    names = list(columns)
    if not names:
        raise InvalidArgument("columns: name at least one column, or pass None for all")
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InvalidArgument(
            f"columns: each column once; repeated {', '.join(map(repr, repeated))}"
        )
    return names


def _profile(reference: Any, columns: Sequence[str] | None) -> ReferenceProfile:
    if isinstance(reference, ReferenceProfile):
        return reference if columns is None else reference.select(columns)
    if isinstance(reference, (str, Path)) and str(reference).endswith(".json"):
        loaded = ReferenceProfile.load(reference)
        return loaded if columns is None else loaded.select(columns)
    return ReferenceProfile.of(reference, columns)


def _check_schema(
    profile: ReferenceProfile, source: Source, names: Sequence[str], *, whole: bool
) -> None:
    differences = []
    for name in names:
        if name not in source.kinds:
            differences.append(f"column {name!r} is in the reference but not the current")
        elif source.kinds[name] != profile.columns[name].kind:
            differences.append(
                f"column {name!r} is {profile.columns[name].kind} in the reference "
                f"but {source.kinds[name]} in the current"
            )
    if whole:
        differences += [
            f"column {name!r} is in the current but not the reference"
            for name in source.kinds
            if name not in profile.columns
        ]
    if differences:
        raise SchemaMismatch(differences)


def _overrides(
    profile: ReferenceProfile,
    names: Sequence[str],
    tests: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
) -> dict[str, StatTest]:
    unknown = [c for c in [*(tests or {}), *(thresholds or {})] if c not in names]
    if unknown:
        raise InvalidArgument(
            f"tests/thresholds name columns not compared: {', '.join(map(repr, unknown))}"
        )
    for column, value in (thresholds or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InvalidArgument(f"thresholds[{column!r}] must be a number >= 0, got {value!r}")
    return {
        column: lookup(name, column, profile.columns[column].kind)
        for column, name in (tests or {}).items()
    }


def _column(
    name: str,
    ref: ColumnReference,
    win: Window,
    test: StatTest | None,
    thresholds: Mapping[str, float] | None,
) -> ColumnDrift:
    quality = column_quality(ref, win)
    if not ref.count or not win.count:
        status = "no data" if not win.count else "no data in reference"
        named = None if test is None else test.name
        return ColumnDrift(name, ref.kind, named, None, None, False, status, quality)
    test = test or default_test(ref, win)
    threshold = float((thresholds or {}).get(name, test.threshold))
    score = test.compute(ref, win)
    return ColumnDrift(
        column=name,
        kind=ref.kind,
        test=test.name,
        score=score,
        threshold=threshold,
        drifted=test.drifted(score, threshold),
        quality=quality,
    )


def _dataset(results: list[ColumnDrift], reference_rows: int, current_rows: int) -> DatasetDrift:
    tested = [r for r in results if r.status == "ok"]
    drifted = sum(r.drifted for r in tested)
    share = drifted / len(tested) if tested else 0.0
    return DatasetDrift(
        share=share,
        drifted=bool(tested) and share >= DATASET_SHARE,
        columns=len(tested),
        drifted_columns=drifted,
        threshold=DATASET_SHARE,
        status="ok" if tested else "no data",
        reference_rows=reference_rows,
        current_rows=current_rows,
    )

"""Data quality read from the same pass as drift: nulls, NaN and infinities, values beyond
the reference's range, categories the reference never had."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.errors import InvalidArgument
from keel.monitoring.reference import ColumnReference, NumericReference
from keel.monitoring.window import CategoricalWindow, NumericWindow, Window

NEW_CATEGORIES_SHOWN = 20
"""New categories listed by name in a result (all of them are counted)."""


@dataclass(frozen=True)
class ColumnQuality:
    """A window's column: ``rows``; ``nulls`` (null or NaN) and their ``null_share``;
    ``posinf``/``neginf``; for numeric columns ``below_min``/``above_max`` (finite values
    outside the reference's range); for categorical ones ``new_categories`` (distinct
    values the reference never had, at least), the ``new_category_rows`` holding them and
    a few ``new_examples``; the window's ``mean``, ``std``, ``min`` and ``max`` of a
    numeric column's finite values (None without any)."""

    rows: int
    nulls: int
    null_share: float
    posinf: int = 0
    neginf: int = 0
    below_min: int = 0
    above_max: int = 0
    new_categories: int = 0
    new_category_rows: int = 0
    new_examples: list[Any] = field(default_factory=list)
    reference_null_share: float = 0.0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None


def column_quality(ref: ColumnReference, win: Window) -> ColumnQuality:
    null_share = win.nulls / win.rows if win.rows else 0.0
    reference_null_share = ref.nulls / ref.rows if ref.rows else 0.0
    if isinstance(win, NumericWindow):
        assert isinstance(ref, NumericReference)
        return ColumnQuality(
            rows=win.rows,
            nulls=win.nulls,
            null_share=null_share,
            posinf=win.posinf,
            neginf=win.neginf,
            below_min=win.below if ref.count else 0,
            above_max=win.above if ref.count else 0,
            reference_null_share=reference_null_share,
            mean=win.mean if win.count else None,
            std=win.std if win.count else None,
            min=win.min if win.count else None,
            max=win.max if win.count else None,
        )
    assert isinstance(win, CategoricalWindow)
    new = win.new_categories()
    lumped = win.reference.other > 0  # unknown values may be the reference's rare ones
    if lumped:
        new = {}
    shown = sorted(new, key=lambda v: -new[v])[:NEW_CATEGORIES_SHOWN]
    return ColumnQuality(
        rows=win.rows,
        nulls=win.nulls,
        null_share=null_share,
        new_categories=len(new) + (1 if win.new_other and not lumped else 0),
        new_category_rows=sum(new.values()) + (0 if lumped else win.new_other),
        new_examples=shown,
        reference_null_share=reference_null_share,
    )


_NUMERIC_DTYPES = frozenset({"int32", "int64", "float32", "float64"})


def signature_violations(
    signature: Any, kinds: Mapping[str, str], windows: Mapping[str, Window]
) -> list[str]:
    """What in the window breaks a model's input signature (``keel.models.Signature``):
    required columns missing, columns of the wrong kind, nulls where a value is required.
    """
    from keel.models.signature import Signature

    if not isinstance(signature, Signature) or signature.is_tensor:
        raise InvalidArgument("signature: must be a keel.models.Signature with named columns")
    problems = []
    for spec in signature.columns:
        kind = kinds.get(spec.name)
        if kind is None:
            if not spec.optional:
                problems.append(f"column {spec.name!r}: required by the signature, missing")
            continue
        expected = "numeric" if spec.dtype in _NUMERIC_DTYPES else "categorical"
        if kind != expected:
            problems.append(f"column {spec.name!r}: the signature says {spec.dtype}, got {kind}")
        window = windows.get(spec.name)
        if window is not None and window.nulls and not spec.optional:
            problems.append(
                f"column {spec.name!r}: {window.nulls:,} null values where the signature "
                "requires one"
            )
    return problems

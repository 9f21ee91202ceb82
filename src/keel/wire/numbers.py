"""Floats on the wire. JSON has no NaN or Infinity, so non-finite floats travel as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` and come back as the same floats."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from keel.errors import InvalidArgument

# Strict: a JSON true, or a number written as a string, is a wrong type, not a metric.
Number = Annotated[float, Field(strict=True)] | Literal["NaN", "Infinity", "-Infinity"]

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def encode_floats(values: list[float]) -> list[float | str]:
    isfinite = math.isfinite
    # NaN and infinities make the sum non-finite (so can an overflow: then look closer).
    if isfinite(sum(values)) or all(isfinite(x) for x in values):
        return values  # type: ignore[return-value]
    return [x if isfinite(x) else encode_float(x) for x in values]


def decode_float(x: Any, field: str = "value") -> float:
    """A number, or one of the three spellings of a non-finite float; never a JSON
    ``true`` (a bool is an int to Python) nor a number written as a string."""
    if isinstance(x, bool):
        raise InvalidArgument(f"{field}: must be a number, got {x!r}")
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str) and x in _NON_FINITE:
        return _NON_FINITE[x]
    raise InvalidArgument(f"{field}: must be a number or NaN/Infinity/-Infinity, got {x!r}")


def decode_floats(values: list[Any], field: str = "values") -> list[float]:
    """``values`` as floats; a wrong item is named by its index (``values.3: ...``)."""
    if set(map(type, values)) <= {float}:
        return values
    return [
        x if type(x) is float else decode_float(x, f"{field}.{i}") for i, x in enumerate(values)
    ]

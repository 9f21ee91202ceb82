"""MLflow's dataset objects: ``keel.data.from_pandas(df, source=..., name=..., targets=...)``
then ``keel.log_input(dataset, context="training")``.

MLflow records only a digest and a description of the data; Keel versions the frame
itself (as :func:`keel.log_dataset` does), so the run links to the exact rows it used.

>>> dataset = keel.data.from_pandas(df, source="s3://bucket/wine.csv", name="wine",
...                                 targets="quality")                 # doctest: +SKIP
>>> keel.log_input(dataset, context="training")                         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keel.errors import InvalidArgument

DEFAULT_NAME = "dataset"
"""The name MLflow gives a dataset made without one."""


@dataclass(frozen=True, slots=True, eq=False)
class PandasDataset:
    """A pandas DataFrame with where it came from and which column is the target."""

    df: Any
    name: str = DEFAULT_NAME
    source: str | None = None
    targets: str | None = None

    @property
    def description(self) -> str:
        """What MLflow keeps beside the data, as the dataset version's description."""
        parts = []
        if self.source:
            parts.append(f"source: {self.source}")
        if self.targets:
            parts.append(f"targets: {self.targets}")
        return "; ".join(parts)


def from_pandas(
    df: Any,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
) -> PandasDataset:
    """Wrap ``df`` for :func:`keel.log_input`; ``targets`` must be one of its columns."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidArgument(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    if source is not None and not isinstance(source, str):
        raise InvalidArgument(f"source: must be text (a path or URL), got {type(source).__name__}")
    if targets is not None and targets not in df.columns:
        columns = ", ".join(map(str, df.columns))
        raise InvalidArgument(f"targets {targets!r}: not a column of the DataFrame ({columns})")
    return PandasDataset(df, name or DEFAULT_NAME, source, targets)

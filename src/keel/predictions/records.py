"""What a model server or a batch job hands the prediction log: one batch of rows that one
model version answered, columns as numpy arrays (no pandas, no per-row Python objects)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class PredictionBatch:
    """Not frozen: a model server builds one per batch on its hot path, and a frozen
    dataclass takes five times as long to build. Nothing changes one once recorded."""

    deployment: str
    """The deployment's name; a bare ``keel serve models:/...`` logs under the model's
    name with the prefix ``model-`` (``model-fraud``)."""
    model_name: str
    model_version: int
    ids: Sequence[str]
    """One prediction id per row (:mod:`keel.predictions.ids`)."""
    inputs: Mapping[str, Any]
    """Input column name -> 1-D numpy array (rows first); a tensor model's input under
    ``"input"`` (N-D)."""
    predictions: Any
    """numpy array, one value (or row) per input row."""
    time_ms: int
    """When the request arrived, milliseconds since the epoch."""
    latency_ms: Any
    """float or a numpy array per row: time from arrival to answer."""
    scores: Any = None
    """2-D numpy array of class probabilities, or None."""
    score_labels: Sequence[str] | None = None
    """The class of each ``scores`` column."""
    shadow: bool = False
    """Answered by a shadow target: logged, never returned to the caller."""


class MatrixColumns(Mapping[str, Any]):
    """Input columns that are the columns of one 2-D array (rows x columns, one dtype):
    what a model server read a body into. The prediction log joins many batches'
    matrices with one call, instead of column by column."""

    __slots__ = ("matrix", "names")

    def __init__(self, names: Sequence[str], matrix: Any) -> None:
        self.names = tuple(names)
        self.matrix = matrix

    def __getitem__(self, name: str) -> Any:
        try:
            return self.matrix[:, self.names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


class PredictionSink(Protocol):
    """Where serving puts predictions: ``record`` never blocks and never raises into a
    request (a full queue drops the batch and counts it)."""

    def record(self, batch: PredictionBatch) -> None: ...
    def close(self, timeout: float = 10.0) -> None: ...

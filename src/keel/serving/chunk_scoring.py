"""Scoring one chunk of a table: the rows a batch job read, as an Arrow table in, the
rows it writes out.

Shared by ``keel predict`` on this machine (:mod:`keel.serving.batch`) and on Ray
(:mod:`keel.serving.ray_batch`), so both write the same columns (a model server scores
its batches in :mod:`keel.serving.scoring`):

``prediction_id``, ``model_name``, ``model_version``, the input columns asked to be kept
(an id column, say), ``prediction``, and one ``score.<label>`` per class where the model
gives class probabilities (``predict_proba``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keel.errors import InvalidArgument
from keel.models import inputs
from keel.models.signature import ColumnSpec, enforce
from keel.predictions.ids import new_prediction_ids

if TYPE_CHECKING:
    import pyarrow as pa

    from keel.models import LoadedModel

RESERVED = ("prediction_id", "model_name", "model_version", "prediction")
"""Output columns a kept input column may not be named."""
SCORE_PREFIX = "score."


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """What the output says produced each prediction: a registered model's name and
    version, or neither for a model loaded from a run (``runs:/...``)."""

    name: str | None
    version: int | None


class ChunkScorer:
    """A loaded model and how its outputs are laid out, ready to score chunk after chunk.

    ``keep``: input columns copied to the output unchanged (an id to join on). A kept
    column the signature does not name is not handed to the model.
    """

    def __init__(
        self, model: LoadedModel, identity: ModelIdentity, *, keep: Sequence[str] = ()
    ) -> None:
        self.model = model
        self.identity = identity
        self.keep = check_keep(keep)
        signature = model.signature
        self.columns: tuple[ColumnSpec, ...] = (
            signature.inputs
            if signature is not None and isinstance(signature.inputs, tuple)
            else ()
        )
        self._model_inputs = {spec.name for spec in self.columns}
        self._labels: list[str] | None = None

    def check_input_columns(self, names: Sequence[str], where: str) -> None:
        """Refuse, before a row is scored, a kept column the input lacks and a column
        that is neither the model's nor kept (a typo should not be dropped silently)."""
        missing = [name for name in self.keep if name not in names]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            raise InvalidArgument(
                f"keep: {where} has no column {listed} (its columns: "
                f"{', '.join(map(repr, names[:20]))})"
            )
        if not self.columns:
            return  # a tensor signature, or none: the model sees every column
        extra = [name for name in names if name not in self._model_inputs | set(self.keep)]
        if extra:
            raise InvalidArgument(
                f"{where}: column{'s' if len(extra) > 1 else ''} "
                f"{', '.join(map(repr, extra[:20]))} not in the model's signature; keep "
                "them in the output (keep=[...], --keep COLUMN) or leave them out of the input"
            )

    def score(self, table: pa.Table) -> pa.Table:
        """The output rows for ``table``'s rows (InvalidArgument names the column and the
        rule a value breaks)."""
        import pyarrow as pa

        frame = _model_input(table, self.keep, self._model_inputs).to_pandas()
        signature = self.model.signature
        # Checked once here (as LoadedModel.predict would), then handed to both predict
        # and predict_proba.
        prepared = inputs.normalise(frame) if signature is None else enforce(signature, frame)
        predictions = self.model.model.predict(prepared)
        rows = table.num_rows
        out: dict[str, Any] = {
            "prediction_id": pa.array(new_prediction_ids(rows), pa.string()),
            "model_name": pa.array([self.identity.name] * rows, pa.string()),
            "model_version": pa.array([self.identity.version] * rows, pa.int32()),
        }
        for name in self.keep:
            out[name] = table.column(name)
        out.update(prediction_columns(predictions, rows))
        out.update(self._scores(prepared, rows))
        return pa.table(out)

    def empty_output(self, input_schema: pa.Schema) -> pa.Schema:
        """The columns of the output of an input with no rows (the model is not called, so
        ``prediction`` has no type and there are no scores)."""
        import pyarrow as pa

        fields = [
            pa.field("prediction_id", pa.string()),
            pa.field("model_name", pa.string()),
            pa.field("model_version", pa.int32()),
            *(input_schema.field(name) for name in self.keep),
            pa.field("prediction", pa.null()),
        ]
        return pa.schema(fields)

    def _scores(self, prepared: Any, rows: int) -> dict[str, Any]:
        predictor = self.model.model
        classes = getattr(predictor, "classes_", None)
        predict_proba = getattr(predictor, "predict_proba", None)
        if classes is None or predict_proba is None:
            return {}
        import numpy as np
        import pyarrow as pa

        if self._labels is None:
            self._labels = [f"{SCORE_PREFIX}{label}" for label in np.asarray(classes).tolist()]
        matrix = np.asarray(predict_proba(prepared), dtype="float64").reshape(rows, -1)
        if matrix.shape[1] != len(self._labels):
            raise InvalidArgument(
                f"model: predict_proba answered {matrix.shape[1]} columns for "
                f"{len(self._labels)} classes"
            )
        return {label: pa.array(matrix[:, i]) for i, label in enumerate(self._labels)}


def check_keep(keep: Sequence[str]) -> tuple[str, ...]:
    if isinstance(keep, str):
        keep = (keep,)
    names = tuple(keep)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"keep: column names must be non-empty strings, got {name!r}")
        if name in RESERVED or name.startswith(SCORE_PREFIX):
            raise InvalidArgument(
                f"keep: {name!r} is an output column of its own (reserved: "
                f"{', '.join(RESERVED)}, {SCORE_PREFIX}<label>); rename it in the input"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidArgument(f"keep: {', '.join(map(repr, repeated))} given more than once")
    return names


def _model_input(table: pa.Table, keep: Sequence[str], model_inputs: set[str]) -> pa.Table:
    """``table`` less the kept columns the model does not take."""
    dropped = [name for name in keep if name not in model_inputs]
    return table.drop_columns(dropped) if dropped else table


def prediction_columns(predictions: Any, rows: int) -> dict[str, Any]:
    """``prediction`` (one value a row; a list a row for a model that answers several), or
    ``prediction.<column>`` for a model that answers a table of several columns."""
    import numpy as np
    import pyarrow as pa

    if _is_pandas_frame(predictions):
        if predictions.shape[1] == 1:
            return prediction_columns(predictions.iloc[:, 0].to_numpy(), rows)
        return {
            f"prediction.{name}": pa.array(predictions[name].to_numpy())
            for name in predictions.columns
        }
    array = predictions.to_numpy() if hasattr(predictions, "to_numpy") else np.asarray(predictions)
    if array.ndim == 0 or array.shape[0] != rows:
        raise InvalidArgument(
            f"model: answered {array.shape[0] if array.ndim else 'one value'} predictions "
            f"for {rows} rows"
        )
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 1:
        return {"prediction": pa.array(array)}
    width = int(np.prod(array.shape[1:]))
    flat = pa.array(np.ascontiguousarray(array).reshape(-1))
    return {"prediction": pa.FixedSizeListArray.from_arrays(flat, width)}


def _is_pandas_frame(value: Any) -> bool:
    import sys

    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)

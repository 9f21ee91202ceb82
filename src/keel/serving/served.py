"""One loaded model version as the server runs it: its batcher, its worker thread, and
what it hands the prediction log after each batch."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.ids import new_id
from keel.errors import KeelError
from keel.predictions.records import MatrixColumns, PredictionBatch
from keel.serving.batcher import Batcher, BatchStats
from keel.serving.scoring import Scored, scorer

if TYPE_CHECKING:
    from keel.models import LoadedModel
    from keel.predictions.records import PredictionSink
    from keel.serving.options import ServeOptions
    from keel.serving.table import Table

log = logging.getLogger("keel.serving")
INLINE_MAX_SECONDS = 0.001
"""A batch of an ONNX graph expected to take at most this long runs on the event loop."""


def _cannot_hang(loaded: LoadedModel) -> bool:
    """An ONNX graph computes and returns; custom code or a library's may wait forever."""
    from keel.models.flavors.onnx import ConvertedModel, OnnxModel

    return isinstance(loaded.model, ConvertedModel | OnnxModel)


@dataclass(slots=True)
class LogTarget:
    """Where a host's models log: the deployment's name, the sink and the share of rows
    kept. The host changes ``sampling`` when the deployment's policy does."""

    deployment: str
    sink: PredictionSink | None = None
    sampling: float = 1.0


@dataclass(slots=True)
class Job:
    """One request's rows, waiting for a batch."""

    table: Table
    ids: Sequence[str]
    arrived_ms: int
    """Wall clock, milliseconds since the epoch."""
    started: float
    """``time.monotonic()`` at arrival."""
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    predictions: Any
    scores: Any
    score_labels: list[str] | None


@dataclass(eq=False)
class ServedModel:
    name: str
    version: int
    loaded: LoadedModel
    options: ServeOptions
    logs: LogTarget
    on_batch: Callable[[ServedModel, BatchStats], None] | None = None
    folder: Path | None = None
    """The private download folder, removed when the model is closed."""
    in_flight: int = 0
    batcher: Batcher[Job, Answer] = field(init=False)
    _call: Callable[[Table, Mapping[str, Any] | None], Scored] = field(init=False)
    labels: list[Any] | None = field(init=False)
    _score_labels: list[str] | None = field(init=False)
    """``labels`` as the prediction log's score columns name them."""
    schema: Any = field(init=False)
    """What the protocols' decoders check a body against (``RequestSchema``)."""

    def __post_init__(self) -> None:
        from keel.serving.decoding import RequestSchema

        self._call, self.labels = scorer(self.loaded)
        self._score_labels = None if self.labels is None else [str(c) for c in self.labels]
        self.schema = RequestSchema.of(self.loaded)
        self.batcher = Batcher(
            self.run,
            max_rows=self.options.batch_max_size,
            budget_s=self.options.batch_max_latency_ms / 1000,
            wait_s=self.options.batch_wait_ms / 1000,
            max_queue_rows=self.options.max_queue_rows,
            on_batch=self._report,
            name=f"{self.name}-{self.version}",
            inline_max_s=INLINE_MAX_SECONDS if _cannot_hang(self.loaded) else 0.0,
        )

    @property
    def signature(self) -> Any:
        return self.loaded.signature

    def _report(self, stats: BatchStats) -> None:
        if self.on_batch is not None:
            self.on_batch(self, stats)

    # in the worker thread ------------------------------------------------------------------

    def run(self, jobs: Sequence[Job]) -> list[Answer]:
        """Answer every job of a batch: jobs whose tables share a ``batch_key`` (the same
        params, the same tensor shape) in one ``predict`` call each. A model that raises
        fails the batch with :class:`ModelFailed`, its traceback in the server's log
        under the error id the callers get."""
        groups: dict[Any, list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault(job.table.batch_key, []).append(i)
        answers: list[Answer | None] = [None] * len(jobs)
        try:
            for members in groups.values():
                params = jobs[members[0]].table.params
                done = self._answer([jobs[i] for i in members], params)
                for i, answer in zip(members, done, strict=True):
                    answers[i] = answer
        except Exception as exc:
            error_id = new_id()[:16]
            log.error(
                "model %s version %s raised (error id %s)", self.name, self.version, error_id,
                exc_info=exc,
            )  # fmt: skip
            raise ModelFailed(
                f"model {self.name} version {self.version} failed on this request; "
                f"error id {error_id} (the server's log has the details)",
                error_id,
            ) from None
        return answers  # type: ignore[return-value]

    def _answer(self, jobs: Sequence[Job], params: Mapping[str, Any] | None) -> list[Answer]:
        from keel.serving.table import concat

        table = jobs[0].table if len(jobs) == 1 else concat([job.table for job in jobs])
        scored = self._call(table, params)
        predictions, scores = scored.predictions, scored.scores
        labels = self.labels if scores is not None else None
        answers = []
        start = 0
        for job in jobs:
            end = start + job.table.rows
            answers.append(
                Answer(
                    predictions[start:end], None if scores is None else scores[start:end], labels
                )
            )
            start = end
        self._log(jobs, table, predictions, scores, labels)
        return answers

    def _log(
        self, jobs: Sequence[Job], table: Table, predictions: Any, scores: Any, labels: Any
    ) -> None:
        """Hand the batch to the prediction log: a few objects per batch, whatever its
        size (this runs on the event loop for ONNX graphs; the log's thread does the rest)."""
        sink = self.logs.sink
        if sink is None or self.logs.sampling <= 0:  # the log samples rows itself
            return
        now = time.monotonic()
        inputs: Mapping[str, Any] = table.columns
        if table.matrix is not None:  # joined with other batches' at once by the log
            inputs = MatrixColumns(tuple(table.columns), table.matrix)
        if len(jobs) == 1:
            job = jobs[0]
            latency: Any = (now - job.started) * 1000  # one value for all its rows
            self._record(sink, job.ids, inputs, predictions, scores, labels,
                         job.arrived_ms, latency, job.shadow)  # fmt: skip
            return
        import numpy as np

        rows = [job.table.rows for job in jobs]
        single = rows.count(1) == len(rows)  # the common case: one row per request
        latency = np.array([(now - job.started) * 1000 for job in jobs], dtype=np.float32)
        if not single:
            latency = np.repeat(latency, rows)
        time_ms = min(job.arrived_ms for job in jobs)
        shadows = [job.shadow for job in jobs]
        if not any(shadows) or all(shadows):
            if single:
                ids: Sequence[str] = [job.ids[0] for job in jobs]
            else:
                ids = list(chain.from_iterable(job.ids for job in jobs))
            self._record(sink, ids, inputs, predictions, scores, labels, time_ms,
                         latency, shadows[0])  # fmt: skip
            return
        for flag in (False, True):
            mask = np.repeat(np.array([shadow == flag for shadow in shadows]), rows)
            kept = list(chain.from_iterable(job.ids for job in jobs if job.shadow == flag))
            self._record(sink, kept, _rows(table.columns, mask), _rows(predictions, mask),
                         _rows(scores, mask), labels, time_ms, latency[mask], flag)  # fmt: skip

    def _record(
        self, sink: PredictionSink, ids: Sequence[str], inputs: Any, predictions: Any,
        scores: Any, labels: Any, time_ms: int, latency: Any, shadow: bool,
    ) -> None:  # fmt: skip
        sink.record(
            PredictionBatch(
                deployment=self.logs.deployment,
                model_name=self.name,
                model_version=self.version,
                ids=ids,
                inputs=inputs,
                predictions=predictions,
                time_ms=time_ms,
                latency_ms=latency,
                scores=scores,
                score_labels=None if labels is None else self._score_labels,
                shadow=shadow,
            )
        )

    # lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self.batcher.shutdown()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _rows(values: Any, mask: Any) -> Any:
    """``values`` (an array, or a dict of arrays) at the rows ``mask`` keeps (all: None)."""
    if values is None or mask is None:
        return values
    if isinstance(values, dict):
        return {name: column[mask] for name, column in values.items()}
    return values[mask]


class ModelFailed(KeelError):
    """The model raised on a batch: 500 with an error id, the traceback only in the log."""

    status_code = 500
    code = "model_error"

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id

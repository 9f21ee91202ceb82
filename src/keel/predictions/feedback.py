"""``FeedbackLog``: labels for predictions made earlier (minutes or months), written as the
prediction log is, under ``feedback/<deployment>/date=.../hour=.../`` by the hour the
label arrived. Readers join them to predictions by id, the latest label winning.

>>> feedback = open_feedback_log(backend, settings)                        # doctest: +SKIP
>>> feedback.log_feedback("fraud-api", [prediction_id], [1])                # doctest: +SKIP
>>> feedback.close()                                                       # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keel.entities.deployment import check_deployment_name
from keel.entities.prediction_log import LogKind, hour_start
from keel.errors import InvalidArgument
from keel.predictions.ids import check_prediction_id
from keel.predictions.writer import LogWriter, prediction_files

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.store.backend import Backend

MAX_LABEL_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class Feedback:
    """One call's labels, checked."""

    deployment: str
    ids: list[str]
    labels: list[Any]
    time_ms: int


class FeedbackLog(LogWriter[Feedback]):
    kind: LogKind = "feedback"

    def log_feedback(
        self,
        deployment: str,
        prediction_ids: Sequence[str],
        labels: Sequence[Any],
        *,
        time_ms: int | None = None,
    ) -> int:
        """Queue one label per prediction id (a number or a string); returns how many.
        Every id and label is checked first: one bad value refuses the whole call. Never
        blocks; ``False`` from the queue (full) raises, since a caller is waiting."""
        feedback = check_feedback(deployment, prediction_ids, labels, time_ms)
        if not self._enqueue(feedback, len(feedback.ids)):
            from keel.errors import StoreUnavailable

            raise StoreUnavailable(
                f"feedback for {deployment!r}: the feedback queue is full "
                f"({self.capacity} rows); try again in a few seconds"
            )
        return len(feedback.ids)

    def _tables(self, items: list[Feedback]) -> list[tuple[str, int, Any]]:
        from keel.predictions.tables import feedback_table, join_tables

        groups: dict[tuple[str, int], list[Any]] = {}
        for item in items:
            table = feedback_table(item.deployment, item.ids, item.labels, item.time_ms)
            groups.setdefault((item.deployment, hour_start(item.time_ms)), []).append(table)
        return [
            (deployment, hour, table)
            for (deployment, hour), tables in groups.items()
            for table in join_tables(tables)
        ]


def check_feedback(
    deployment: str, prediction_ids: Sequence[str], labels: Sequence[Any], time_ms: int | None
) -> Feedback:
    check_deployment_name(deployment, "deployment")
    if isinstance(prediction_ids, str) or isinstance(labels, str | bytes):
        raise InvalidArgument("prediction_ids, labels: must be lists (one label per id)")
    ids = [check_prediction_id(pid, f"prediction_ids[{i}]") for i, pid in enumerate(prediction_ids)]
    values = list(labels)
    if not ids:
        raise InvalidArgument("prediction_ids: give at least one")
    if len(values) != len(ids):
        raise InvalidArgument(
            f"labels: one per prediction id ({len(ids)} ids, {len(values)} labels)"
        )
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    texts = all(isinstance(v, str) for v in values)
    if not (numbers or texts):
        kinds = sorted({type(v).__name__ for v in values})
        raise InvalidArgument(
            f"labels: must be all numbers or all strings in one call, got {', '.join(kinds)}"
        )
    for i, value in enumerate(values):
        if texts and len(value) > MAX_LABEL_CHARS:
            raise InvalidArgument(f"labels[{i}]: at most {MAX_LABEL_CHARS} characters")
        if numbers and value != value:  # NaN: not a label
            raise InvalidArgument(f"labels[{i}]: must be a number, not NaN")
    now = time.time_ns() // 1_000_000 if time_ms is None else time_ms
    return Feedback(deployment, ids, values, now)


def open_feedback_log(backend: Backend, settings: Settings, **options: Any) -> FeedbackLog:
    """The feedback log of ``backend``'s tracking URI (spooling as the prediction log does)."""
    options.setdefault("queue_rows", settings.prediction_log_queue)
    options.setdefault("flush_seconds", settings.prediction_log_flush_seconds)
    options.setdefault("spool", settings.spool_path / "predictions")
    return FeedbackLog(prediction_files(backend), **options)

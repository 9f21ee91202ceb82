"""The prediction log and feedback log a model server writes to: those of its tracking
URI (:mod:`keel.predictions`), or none for a package folder served without one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.predictions.records import PredictionSink
    from keel.store.backend import Backend


def open_sink(backend: Backend | None, settings: Settings) -> PredictionSink | None:
    if backend is None:
        return None
    from keel.predictions.writer import open_prediction_log

    return open_prediction_log(backend, settings)


def open_feedback(backend: Backend | None, settings: Settings) -> Any:
    if backend is None:
        return None
    from keel.predictions.feedback import open_feedback_log

    return open_feedback_log(backend, settings)

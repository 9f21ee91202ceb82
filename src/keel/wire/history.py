"""A metric's history on the wire: ``GET /api/v1/runs/{run_id}/metrics/history``.

A streamed history is one JSON object a line: a head ``{"key", "total"}``, then chunks
``{"steps", "values", "timestamps"}`` in step order, then ``{"done": true, "count": N}``
where N is how many points the chunks held. A stream without that last line, or one whose
count disagrees, was cut short; a line ``{"error": {"code", "message"}}`` says why.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from keel.entities.metric import MetricHistory
from keel.wire.errors import StreamError
from keel.wire.numbers import Number, decode_floats, encode_floats


class MetricHistoryHead(BaseModel):
    """The first line of a streamed history: ``total`` is the series' length, more than
    the points sent when downsampled."""

    key: str
    total: int


class MetricHistoryChunk(BaseModel):
    """A slice of the series in step order, by column."""

    steps: list[int]
    values: list[Number]
    timestamps: list[int]


class StreamEnd(BaseModel):
    """The last line of a complete stream: ``count`` items (points) were sent."""

    done: Literal[True]
    count: int


# One line of GET .../metrics/history (application/x-ndjson).
MetricHistoryLine = MetricHistoryHead | MetricHistoryChunk | StreamEnd | StreamError


def history_head_to_dict(h: MetricHistory) -> dict[str, Any]:
    return {"key": h.key, "total": h.total}


def history_chunk_to_dict(h: MetricHistory) -> dict[str, Any]:
    return {"steps": h.steps, "values": encode_floats(h.values), "timestamps": h.timestamps}


def history_chunk_from_dict(d: dict[str, Any], key: str, total: int) -> MetricHistory:
    return MetricHistory(key, d["steps"], decode_floats(d["values"]), d["timestamps"], total=total)


def stream_end_to_dict(count: int) -> dict[str, Any]:
    return {"done": True, "count": count}

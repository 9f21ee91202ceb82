"""The write batch codec reads ``POST /api/v1/writes`` on its own (no pydantic on the hot
path), so it must refuse whatever ``WriteBatchIn`` refuses, naming the field, and read
back exactly what the client and the spool write."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from keel.entities.run import RunStatus
from keel.entities.write import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
from keel.errors import InvalidArgument
from keel.wire.writes import WriteBatchIn, batch_from_json, batch_to_dict

RUN = "0123456789abcdef0123456789abcdef"


def full_batch() -> WriteBatch:
    return WriteBatch(
        "b1",
        [
            RunWrite(
                RUN,
                create=RunCreate("7", "r", 1, parent_run_id=RUN, user_id="ann"),
                params={"lr": "0.1"},
                tags={"t": "x"},
                metrics=MetricColumns(
                    ["m"] * 5,
                    [0.5, math.nan, math.inf, -math.inf, 2.0],
                    [10, 11, 12, 13, 14],
                    [0, 1, 2, 3, -4],
                ),
                heartbeat=20,
                end=RunEnd(RunStatus.FINISHED, 30),
            ),
            RunWrite("f" * 32, create=RunCreate("7", "s", 1)),
            RunWrite("e" * 32, heartbeat=5),
        ],
    )


def test_a_batch_round_trips_through_json() -> None:
    batch = full_batch()
    sent = orjson.dumps(batch_to_dict(batch))
    back = batch_from_json(sent)
    assert batch_to_dict(back) == batch_to_dict(batch)
    values = back.runs[0].metrics.values
    assert math.isnan(values[1]) and values[2:4] == [math.inf, -math.inf]
    assert back.runs[0].end == RunEnd(RunStatus.FINISHED, 30)
    WriteBatchIn.model_validate_json(sent)  # and the schema agrees


def body(**run: Any) -> dict[str, Any]:
    return {"batch_id": "b", "runs": [{"run_id": RUN, **run}]}


def metrics(**columns: Any) -> dict[str, Any]:
    return {"keys": ["m"], "values": [1.0], "timestamps": [1], "steps": [0], **columns}


REFUSED = [
    ([], "body"),
    ("batch", "body"),
    ({"runs": []}, "batch_id"),
    ({"batch_id": "b"}, "runs"),
    ({"batch_id": 7, "runs": []}, "batch_id"),
    ({"batch_id": "", "runs": []}, "batch_id"),
    ({"batch_id": "b" * 65, "runs": []}, "batch_id"),
    ({"batch_id": "b", "runs": {}}, "runs"),
    ({"batch_id": "b", "runs": [], "owner": "me"}, "owner"),
    ({"batch_id": "b", "runs": [7]}, "runs.0"),
    ({"batch_id": "b", "runs": [{}]}, "runs.0.run_id"),
    (body(run_id=5), "runs.0.run_id"),
    (body(owner="me"), "runs.0.owner"),
    (body(params={"p": 5}), "runs.0.params.p"),
    (body(params=["p"]), "runs.0.params"),
    (body(params=None), "runs.0.params"),
    (body(tags={"t": None}), "runs.0.tags.t"),
    (body(heartbeat="soon"), "runs.0.heartbeat"),
    (body(heartbeat=True), "runs.0.heartbeat"),
    (body(heartbeat=1.5), "runs.0.heartbeat"),
    (body(create={"experiment_id": "7", "run_name": "r"}), "runs.0.create.start_time"),
    (body(create={"experiment_id": 7, "run_name": "r", "start_time": 1}), "experiment_id"),
    (body(create={"experiment_id": "7", "run_name": "r", "start_time": True}), "start_time"),
    (body(create={"experiment_id": "7", "run_name": "r", "start_time": 1, "x": 1}), "create.x"),
    (
        body(create={"experiment_id": "7", "run_name": "r", "start_time": 1, "user_id": 5}),
        "user_id",
    ),
    (body(end={"status": "RUNNING", "end_time": 1}), "runs.0.end.status"),
    (body(end={"status": "FINISHED"}), "runs.0.end.end_time"),
    (body(end={"status": "FINISHED", "end_time": "1"}), "runs.0.end.end_time"),
    (body(metrics=metrics(values=[True])), "runs.0.metrics.values.0"),
    (body(metrics=metrics(values=["0.5"])), "runs.0.metrics.values.0"),
    (body(metrics=metrics(values=["inf"])), "runs.0.metrics.values.0"),
    (body(metrics=metrics(values=[None])), "runs.0.metrics.values.0"),
    (body(metrics=metrics(values="NaN")), "runs.0.metrics.values"),
    (body(metrics=metrics(keys=[1])), "runs.0.metrics.keys.0"),
    (body(metrics=metrics(timestamps=["x"])), "runs.0.metrics.timestamps.0"),
    (body(metrics=metrics(timestamps=[True])), "runs.0.metrics.timestamps.0"),
    (body(metrics=metrics(steps=[1.5])), "runs.0.metrics.steps.0"),
    (body(metrics=metrics(steps=[1.0])), "runs.0.metrics.steps.0"),
    (body(metrics=metrics(steps=["3"])), "runs.0.metrics.steps.0"),
    (body(metrics={"keys": ["m"], "values": [1.0], "timestamps": [1]}), "runs.0.metrics.steps"),
    (body(metrics=metrics(extra=[1])), "runs.0.metrics.extra"),
]


@pytest.mark.parametrize(("sent", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_what_the_schema_refuses_the_codec_refuses_naming_the_field(sent: Any, field: str) -> None:
    raw = orjson.dumps(sent)
    with pytest.raises(ValidationError):
        WriteBatchIn.model_validate_json(raw)
    with pytest.raises(InvalidArgument) as refused:
        batch_from_json(raw)
    assert refused.value.message.startswith(field) or f"{field}:" in refused.value.message


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"{" * 5000, b'{"batch_id": NaN}'])
def test_what_is_not_json_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidArgument, match="body: not valid JSON"):
        batch_from_json(raw)


def test_optional_fields_may_be_null_or_absent() -> None:
    sent = body(create=None, metrics=None, heartbeat=None, end=None)
    WriteBatchIn.model_validate(sent)
    (write,) = batch_from_json(orjson.dumps(sent)).runs
    assert write.is_empty() and write.metrics == MetricColumns()


def test_an_integer_past_64_bits_is_refused() -> None:
    # orjson reads it as a float (pydantic would pass it on, for check_batch to refuse).
    raw = orjson.dumps(body(metrics=metrics(steps=[0]))).replace(b"[0]", b"[1" + b"0" * 25 + b"]")
    with pytest.raises(InvalidArgument, match=r"runs\.0\.metrics\.steps\.0: must be an integer"):
        batch_from_json(raw)

"""Wire schemas: what the REST API accepts and returns (pydantic, for validation and the
OpenAPI document). Names follow their role: ``XCreate`` in, ``XPublic`` out.

Responses are built by ``keel.entities.codec`` and serialised with orjson; the ``*Public``
models document them. Non-finite floats travel as "NaN", "Infinity" and "-Infinity".
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from keel.entities.rules import MAX_BATCH_RUNS

# Strict: a JSON true, or a number written as a string, is a wrong type, not a metric.
Number = Annotated[float, Field(strict=True)] | Literal["NaN", "Infinity", "-Infinity"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentCreate(Strict):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    artifact_location: str | None = Field(
        default=None, description="Refused: the server places artifacts under its own root."
    )


class ExperimentTag(Strict):
    key: str
    value: str


class ExperimentPublic(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]


class ExperimentList(BaseModel):
    experiments: list[ExperimentPublic]


class ExperimentId(BaseModel):
    experiment_id: str


class RunCreateBody(Strict):
    experiment_id: str
    run_id: str | None = None
    run_name: str | None = None
    start_time: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    parent_run_id: str | None = None
    user_id: str | None = None


class RunUpdate(Strict):
    status: Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] | None = None
    end_time: int | None = None
    run_name: str | None = None


class RunInfoPublic(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    parent_run_id: str | None
    user_id: str | None
    last_heartbeat: int | None


class RunDataPublic(BaseModel):
    metrics: dict[str, Number]
    params: dict[str, str]
    tags: dict[str, str]


class RunPublic(BaseModel):
    info: RunInfoPublic
    data: RunDataPublic


class RunSearch(Strict):
    experiment_ids: list[str] = Field(min_length=1)
    filter: str | None = None
    view: Literal["active", "deleted", "all"] = "active"
    max_results: int = 1000
    order_by: list[str] | None = None
    page_token: str | None = None


class RunPagePublic(BaseModel):
    runs: list[RunPublic]
    next_page_token: str | None


class MetricColumnsIn(Strict):
    keys: list[str]
    values: list[Number]
    timestamps: list[StrictInt]
    steps: list[StrictInt]


class RunCreateIn(Strict):
    experiment_id: str
    run_name: str
    start_time: StrictInt
    parent_run_id: str | None = None
    user_id: str | None = None


class RunEndIn(Strict):
    status: Literal["FINISHED", "FAILED", "KILLED"]
    end_time: int


class RunWriteIn(Strict):
    run_id: str
    create: RunCreateIn | None = None
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: MetricColumnsIn | None = None
    heartbeat: int | None = None
    end: RunEndIn | None = None


class WriteBatchIn(Strict):
    """Writes to one or more runs, applied atomically. Replaying a ``batch_id`` the server
    has applied before is acknowledged without writing twice."""

    batch_id: str = Field(min_length=1, max_length=64)
    runs: list[RunWriteIn] = Field(
        description=f"At most {MAX_BATCH_RUNS} runs and 100,000 rows in all (else 413)."
    )


class WriteAck(BaseModel):
    batch_id: str
    applied: bool


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


class Reap(Strict):
    silent_for_ms: int = Field(gt=0)


class ReapedRuns(BaseModel):
    run_ids: list[str]


class FileInfoPublic(BaseModel):
    path: str
    is_dir: bool
    file_size: int | None
    digest: str | None


class FileList(BaseModel):
    files: list[FileInfoPublic]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorPublic(BaseModel):
    error: ErrorBody


class StreamError(BaseModel):
    """The last line of a stream that failed after it began."""

    error: ErrorBody


# One line of GET .../metrics/history (application/x-ndjson).
MetricHistoryLine = MetricHistoryHead | MetricHistoryChunk | StreamEnd | StreamError

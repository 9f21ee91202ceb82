"""Where the prediction log's files live, as plain rules shared by the writer, the stores
and the server: which kinds of log there are, how a file is named, which partition an
instant falls in, and the columns each kind must have.

Files are Parquet, one folder per deployment and hour:
``predictions/<deployment>/date=YYYY-MM-DD/hour=HH/<writer-id>-<seq>.parquet`` (and the
same under ``feedback/``). Every part is checked here, so a path built from them never
leaves its folder.

>>> partition_path("predictions", "fraud-api", 1_765_000_000_000, "0a1b2c3d4e5f-000001")
'predictions/fraud-api/date=2025-12-06/hour=05/0a1b2c3d4e5f-000001.parquet'
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

from keel.entities.deployment import check_deployment_name
from keel.errors import InvalidArgument

LogKind = Literal["predictions", "feedback"]
LOG_KINDS: tuple[LogKind, ...] = ("predictions", "feedback")

HOUR_MS = 3_600_000

_FILE_NAME = re.compile(r"[0-9a-f]{12}-[0-9]{6,12}")
"""``<writer-id>-<seq>``: twelve hex characters naming one writer, then its counter."""

PREDICTION_COLUMNS = (
    "prediction_id",
    "time",
    "deployment",
    "model_name",
    "model_version",
    "shadow",
    "latency_ms",
    "prediction",
)
"""Columns every prediction file has, besides ``input.<column>`` and ``score.<label>``."""

FEEDBACK_COLUMNS = ("prediction_id", "time", "deployment", "label")
"""Columns every feedback file has."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "predictions": PREDICTION_COLUMNS,
    "feedback": FEEDBACK_COLUMNS,
}


def check_log_kind(value: object) -> LogKind:
    for kind in LOG_KINDS:
        if value == kind:
            return kind
    raise InvalidArgument(f"log kind {value!r}: must be one of {', '.join(LOG_KINDS)}")


def check_file_name(value: object) -> str:
    """A file's name without ``.parquet``: ``<writer-id>-<seq>`` and nothing else."""
    if not isinstance(value, str) or not _FILE_NAME.fullmatch(value):
        raise InvalidArgument(
            f"file name {value!r}: must be a writer id (12 lowercase hex characters), '-' "
            "and a sequence number (6 to 12 digits)"
        )
    return value


def hour_start(time_ms: int) -> int:
    """The first millisecond of the UTC hour holding ``time_ms``."""
    return time_ms - time_ms % HOUR_MS


def partition(time_ms: int) -> tuple[str, str]:
    """``("YYYY-MM-DD", "HH")``: the UTC date and hour holding ``time_ms``."""
    parts = time.gmtime(time_ms // 1000)
    return time.strftime("%Y-%m-%d", parts), f"{parts.tm_hour:02d}"


def hour_folder(time_ms: int) -> str:
    """``date=YYYY-MM-DD/hour=HH``: the hive partition folder of ``time_ms``."""
    date, hour = partition(time_ms)
    return f"date={date}/hour={hour}"


def partition_folder(kind: LogKind, deployment: str, time_ms: int) -> str:
    return f"{check_log_kind(kind)}/{check_deployment_name(deployment)}/{hour_folder(time_ms)}"


def partition_path(kind: LogKind, deployment: str, time_ms: int, name: str) -> str:
    """The file's path below the artifact root, every part checked."""
    return f"{partition_folder(kind, deployment, time_ms)}/{check_file_name(name)}.parquet"


_HOUR_FOLDER = re.compile(r"date=(\d{4})-(\d{2})-(\d{2})/hour=(\d{2})")


def hour_of_path(path: str) -> int | None:
    """The first millisecond of the hour a file's path names (``None`` when the path names
    none): how a reader skips folders outside the window it reads without opening them."""
    found = _HOUR_FOLDER.search(path)
    if found is None:
        return None
    import calendar

    year, month, day, hour = (int(g) for g in found.groups())
    return calendar.timegm((year, month, day, hour, 0, 0, 0, 0, 0)) * 1000


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Which rows of one kind of log to read. Times are milliseconds since the epoch,
    ``since_ms`` included, ``until_ms`` excluded."""

    kind: LogKind
    deployment: str | None = None
    """``None``: every deployment (finding one prediction by id)."""
    since_ms: int | None = None
    until_ms: int | None = None
    model_version: int | None = None
    prediction_id: str | None = None

"""Monitors: a deployment's prediction log compared, window after window, with a
reference; the results kept as time series, alert rules over them, the alerts they raise,
and the events a pipeline can be triggered by.

A reference is one of:

- ``datasets:/<name>@<version>``: a dataset version's table;
- ``window:<start>/<end>``: a past window of the same deployment's prediction log, in
  milliseconds since the epoch or ISO 8601 times (``window:2026-11-01T00:00/2026-11-08T00:00``);
- ``models:/<name>/<version>`` (or ``@<alias>``): the dataset version the model version's
  run recorded as its training input (``keel.log_input``), resolved at the first run;
- ``file:<path>``: a Parquet file, or a saved reference profile (``.json``), on the
  server's disk (for a single-host install).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keel.entities.deployment import check_deployment_name
from keel.errors import InvalidArgument

MIN_EVERY_SECONDS = 60
MAX_EVERY_SECONDS = 31 * 24 * 3600
MAX_RULES = 50
MAX_CHANNELS = 20
_DURATION = re.compile(r"^([0-9]{1,7})([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DATASET_REF = re.compile(r"^datasets:/[^/@\s][^/@]*@[0-9]{1,9}$")


def parse_duration(value: object, field: str) -> int:
    """Seconds from ``90s``, ``15m``, ``1h``, ``7d`` or a whole number of seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.match(value.strip())):
        seconds = int(m[1]) * _UNIT[m[2]]
    else:
        raise InvalidArgument(f"{field} {value!r}: must be a duration such as 90s, 15m, 1h or 7d")
    if not MIN_EVERY_SECONDS <= seconds <= MAX_EVERY_SECONDS:
        raise InvalidArgument(
            f"{field}: must be between {MIN_EVERY_SECONDS} s and 31 days, got {seconds} s"
        )
    return seconds


def parse_time_ms(value: str, field: str) -> int:
    """Milliseconds since the epoch from digits or an ISO 8601 time (UTC when no zone)."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            f"{field} {value!r}: must be milliseconds since the epoch or an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def check_alert_status(status: str | None) -> None:
    """An alerts query's ``status``: None (any), firing or resolved."""
    if status is not None and status not in ("firing", "resolved"):
        raise InvalidArgument(f"alert status {status!r}: must be firing or resolved")


def check_reference(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("monitor reference: must be a non-empty string")
    if value.startswith("datasets:/"):
        if not _DATASET_REF.match(value):
            raise InvalidArgument(
                f"monitor reference {value!r}: a dataset version is datasets:/<name>@<version>"
            )
        return value
    if value.startswith("window:"):
        start, sep, end = value[len("window:") :].partition("/")
        if not sep:
            raise InvalidArgument(f"monitor reference {value!r}: a window is window:<start>/<end>")
        if parse_time_ms(start, "reference window start") >= parse_time_ms(
            end, "reference window end"
        ):
            raise InvalidArgument(f"monitor reference {value!r}: the window ends before it starts")
        return value
    if value.startswith("file:") and len(value) > len("file:"):
        return value
    if value.startswith("models:/"):
        from keel.uri import parse_model_uri

        parse_model_uri(value)
        return value
    raise InvalidArgument(
        f"monitor reference {value!r}: must be datasets:/<name>@<version>, "
        "models:/<name>/<version>, window:<start>/<end> or file:<path>"
    )


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """What a user asks for; ``rules`` and ``channels`` are checked by the monitoring
    service (they need its rule grammar and the outbound policy)."""

    name: str
    deployment: str
    reference: str
    every_seconds: int = 3600
    window_seconds: int | None = None
    """How much of the log each run reads (default: ``every_seconds``)."""
    columns: tuple[str, ...] | None = None
    tests: dict[str, str] = field(default_factory=dict)
    rules: tuple[dict[str, Any], ...] = ()
    channels: tuple[dict[str, Any], ...] = ()
    performance: str | None = None
    """``classifier`` or ``regressor``: also score each window's predictions against the
    labels logged for them so far (``metric:<name>`` in results and rules)."""

    def __post_init__(self) -> None:
        if self.performance not in (None, "classifier", "regressor"):
            raise InvalidArgument(
                f"monitor performance {self.performance!r}: classifier, regressor or none"
            )
        check_deployment_name(self.name, "monitor name")
        check_deployment_name(self.deployment, "monitor deployment")
        check_reference(self.reference)
        parse_duration(self.every_seconds, "monitor every")
        if self.window_seconds is not None:
            parse_duration(self.window_seconds, "monitor window")
        if self.columns is not None and (
            not self.columns or not all(isinstance(c, str) and c for c in self.columns)
        ):
            raise InvalidArgument("monitor columns: a non-empty list of column names")
        if len(self.rules) > MAX_RULES:
            raise InvalidArgument(f"monitor rules: at most {MAX_RULES}")
        if len(self.channels) > MAX_CHANNELS:
            raise InvalidArgument(f"monitor channels: at most {MAX_CHANNELS}")

    @property
    def window(self) -> int:
        return self.window_seconds or self.every_seconds


@dataclass(frozen=True, slots=True)
class Monitor:
    id: int
    spec: MonitorSpec
    created_at: int
    created_by: str
    next_run_at: int
    last_window_end: int | None = None
    alert_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rule name -> its :class:`keel.monitoring.alert_state.AlertState` as a dict."""

    @property
    def name(self) -> str:
        return self.spec.name

    def to_dict(self, *, secrets: bool = False) -> dict[str, Any]:
        """As the API answers it: channel secrets are never shown unless asked for."""
        s = self.spec
        return {
            "id": self.id,
            "name": s.name,
            "deployment": s.deployment,
            "reference": s.reference,
            "every_seconds": s.every_seconds,
            "window_seconds": s.window,
            "columns": list(s.columns) if s.columns is not None else None,
            "tests": dict(s.tests),
            "rules": [dict(r) for r in s.rules],
            "channels": [c if secrets else _redacted(c) for c in s.channels],
            "performance": s.performance,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "next_run_at": self.next_run_at,
            "last_window_end": self.last_window_end,
            "alert_states": dict(self.alert_states),
        }


def _redacted(channel: dict[str, Any]) -> dict[str, Any]:
    """A channel as shown: a webhook's secret as ``***``; a Slack URL's path and any
    URL's query too, since they are credentials (whoever holds a Slack incoming-webhook
    URL can post to the channel)."""
    shown = dict(channel)
    if "secret" in shown:
        shown["secret"] = "***"
    url = shown.get("url")
    if isinstance(url, str):
        from urllib.parse import urlsplit, urlunsplit

        try:
            parts = urlsplit(url)
        except ValueError:
            return {**shown, "url": "***"}
        path = "/***" if shown.get("kind") == "slack" else parts.path
        query = "***" if parts.query else ""
        shown["url"] = urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    return shown


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One column's (or, with ``column`` None, the dataset's) verdict for one window."""

    window_start: int
    window_end: int
    column: str | None
    test: str | None
    score: float | None
    threshold: float | None
    drifted: bool
    rows: int = 0
    no_data: bool = False


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    monitor: str
    rule: str
    status: str
    """``firing`` or ``resolved``."""
    severity: str
    dedup_key: str
    fired_at: int
    resolved_at: int | None
    notified_at: int | None
    notifications: int
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened that a pipeline may be triggered by (``alert.firing``,
    ``alert.resolved``), in the order the store recorded it."""

    id: int
    at: int
    kind: str
    subject: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "subject": self.subject,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What a run does to an alert: ``fire`` (a new one), ``remind``, ``resolve``."""

    kind: str
    rule: str
    severity: str
    dedup_key: str
    at: int
    error: str | None = None
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything one run of a monitor writes."""

    window_start: int
    window_end: int
    rows: Sequence[ResultRow]
    alert_states: dict[str, dict[str, Any]]
    changes: Sequence[AlertChange]
    next_run_at: int
    actor: str


@dataclass(frozen=True, slots=True)
class MonitorRun:
    """What one run of a monitor found and sent."""

    monitor: str
    window_start: int
    window_end: int
    result: dict[str, Any]
    """As :meth:`keel.monitoring.drift`'s ``to_dict()``; ``no_data`` when the window was
    empty."""
    notifications: list[dict[str, Any]] = field(default_factory=list)
    delivery_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "result": self.result,
            "notifications": list(self.notifications),
            "delivery_errors": list(self.delivery_errors),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MonitorRun:
        return cls(
            raw["monitor"],
            raw["window_start"],
            raw["window_end"],
            raw["result"],
            list(raw.get("notifications") or []),
            list(raw.get("delivery_errors") or []),
        )


def monitor_from_dict(raw: dict[str, Any]) -> Monitor:
    """A monitor as the API answers it (channel secrets shown as ``***``)."""
    columns = raw.get("columns")
    spec = MonitorSpec(
        name=raw["name"],
        deployment=raw["deployment"],
        reference=raw["reference"],
        every_seconds=raw["every_seconds"],
        window_seconds=raw.get("window_seconds"),
        columns=tuple(columns) if columns is not None else None,
        tests=dict(raw.get("tests") or {}),
        rules=tuple(raw.get("rules") or ()),
        channels=tuple(raw.get("channels") or ()),
        performance=raw.get("performance"),
    )
    return Monitor(
        id=raw["id"],
        spec=spec,
        created_at=raw["created_at"],
        created_by=raw["created_by"],
        next_run_at=raw["next_run_at"],
        last_window_end=raw.get("last_window_end"),
        alert_states=dict(raw.get("alert_states") or {}),
    )


def result_row_to_dict(row: ResultRow) -> dict[str, Any]:
    return {
        "window_start": row.window_start,
        "window_end": row.window_end,
        "column": row.column,
        "test": row.test,
        "score": row.score,
        "threshold": row.threshold,
        "drifted": row.drifted,
        "rows": row.rows,
        "no_data": row.no_data,
    }


def result_row_from_dict(raw: dict[str, Any]) -> ResultRow:
    return ResultRow(
        raw["window_start"],
        raw["window_end"],
        raw.get("column"),
        raw.get("test"),
        raw.get("score"),
        raw.get("threshold"),
        bool(raw["drifted"]),
        int(raw.get("rows", 0)),
        bool(raw.get("no_data", False)),
    )

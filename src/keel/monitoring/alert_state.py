"""Alert rules and the state of an alert: a condition over a monitor's result, how many
windows in a row it must hold before the alert fires, and when a firing alert is sent
again.

A condition is one comparison over a result, written as users read it::

    dataset.drifted                 the dataset drifted
    dataset.share >= 0.3            at least 30% of the columns drifted
    any_column.drifted              some column drifted
    column:amount.score > 0.2       the drift score of column ``amount``
    column:amount.drifted
    metric:accuracy < 0.85          a performance metric of the window

A window with no data leaves the state as it is: it neither fires nor resolves.

>>> rule = AlertRule("share", "dataset.share >= 0.5", for_windows=2)
>>> state = AlertState()
>>> state.observe(rule, {"dataset": {"share": 0.6, "drifted": True}}, now_ms=1) is None
True
>>> state.observe(rule, {"dataset": {"share": 0.7, "drifted": True}}, now_ms=2).status
'firing'
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from keel.errors import InvalidArgument

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CONDITION = re.compile(
    r"^\s*(?P<subject>dataset\.(?:share|drifted)|any_column\.drifted"
    r"|column:(?P<column>[^\s.][^\s]*?)\.(?P<field>score|drifted)"
    r"|metric:(?P<metric>[A-Za-z0-9_.\-]+))"
    r"\s*(?:(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?))?\s*$"
)
SEVERITIES = ("info", "warning", "critical")
MAX_CONDITION = 500
_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class Condition:
    subject: str
    op: str | None = None
    value: float | None = None
    column: str | None = None
    field: str | None = None
    metric: str | None = None

    @classmethod
    def parse(cls, text: object) -> Condition:
        if not isinstance(text, str):
            raise InvalidArgument("alert condition: must be a string")
        if len(text) > MAX_CONDITION:
            raise InvalidArgument(f"alert condition: at most {MAX_CONDITION} characters")
        match = _CONDITION.match(text)
        if match is None:
            raise InvalidArgument(
                f"alert condition {text!r}: must be one of dataset.drifted, "
                "dataset.share <op> N, any_column.drifted, column:<name>.score <op> N, "
                "column:<name>.drifted, metric:<name> <op> N (op: > >= < <= == !=)"
            )
        op, value = match["op"], match["value"]
        numeric = (
            match["subject"] == "dataset.share" or match["field"] == "score" or match["metric"]
        )
        if numeric and op is None:
            raise InvalidArgument(f"alert condition {text!r}: a number needs a comparison")
        if value is not None and not math.isfinite(float(value)):
            raise InvalidArgument(f"alert condition {text!r}: the number must be finite")
        return cls(
            subject=match["subject"],
            op=op,
            value=None if value is None else float(value),
            column=match["column"],
            field=match["field"],
            metric=match["metric"],
        )

    def holds(self, result: Mapping[str, Any]) -> bool | None:
        """True or False, or None when the result has no data for it."""
        found = self._value(result)
        if found is None:
            return None
        if isinstance(found, float) and math.isnan(found):
            return None
        if self.op is None:
            return bool(found)
        return _OPS[self.op](float(found), self.value)

    def _value(self, result: Mapping[str, Any]) -> Any:
        if result.get("no_data"):
            return None
        if self.subject.startswith("dataset."):
            return (result.get("dataset") or {}).get(self.subject.split(".", 1)[1])
        columns = result.get("columns") or []
        if self.subject == "any_column.drifted":
            return any(c.get("drifted") for c in columns) if columns else None
        if self.column is not None:
            for column in columns:
                if column.get("column") == self.column:
                    return column.get(self.field)
            return None
        return (result.get("metrics") or {}).get(self.metric)


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    condition: str
    for_windows: int = 1
    """Consecutive windows the condition must hold before the alert fires."""
    renotify_seconds: int = 3600
    """A firing alert is sent again after this long (0: only once)."""
    severity: str = "warning"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RULE_NAME.fullmatch(self.name):
            shown = self.name[:40] if isinstance(self.name, str) else self.name
            raise InvalidArgument(
                f"alert rule name {shown!r}: 1 to 64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit"
            )
        Condition.parse(self.condition)
        if (
            isinstance(self.for_windows, bool)
            or not isinstance(self.for_windows, int)
            or not (1 <= self.for_windows <= 1000)
        ):
            raise InvalidArgument("alert rule for_windows: must be a whole number, 1 to 1000")
        if (
            isinstance(self.renotify_seconds, bool)
            or not isinstance(self.renotify_seconds, int)
            or (self.renotify_seconds < 0)
        ):
            raise InvalidArgument("alert rule renotify_seconds: must be a whole number >= 0")
        if self.severity not in SEVERITIES:
            raise InvalidArgument(
                f"alert rule severity {self.severity!r}: must be one of {', '.join(SEVERITIES)}"
            )

    @property
    def parsed(self) -> Condition:
        return Condition.parse(self.condition)


@dataclass(frozen=True, slots=True)
class Notification:
    """What a channel sends: the alert's state change (or its reminder)."""

    monitor: str
    rule: str
    condition: str
    status: str
    """``firing`` or ``resolved``."""
    severity: str
    dedup_key: str
    fired_at_ms: int
    time_ms: int
    reminder: bool = False
    details: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        again = " (still firing)" if self.reminder else ""
        return (
            f"[{self.severity.upper()}] {self.monitor}: {self.rule} {self.status}{again}: "
            f"{self.condition}"
        )

    def as_text(self) -> str:
        lines = [self.summary_line(), "", f"dedup key: {self.dedup_key}"]
        for key, value in (self.details or {}).items():
            lines.append(f"{key}: {value}")
        return "\n".join(lines) + "\n"


@dataclass(slots=True)
class AlertState:
    """One rule's alert on one monitor: ``ok``, ``pending`` (holding, not yet for long
    enough) or ``firing``; stored between runs as :meth:`to_dict`."""

    status: str = "ok"
    consecutive: int = 0
    fired_at_ms: int | None = None
    notified_at_ms: int | None = None

    def observe(
        self,
        rule: AlertRule,
        result: Mapping[str, Any],
        *,
        now_ms: int,
        monitor: str = "",
    ) -> Notification | None:
        """Move the state by one window's result; the notification to send, if any."""
        holds = rule.parsed.holds(result)
        if holds is None:
            return None  # no data: never a false alarm, and not a recovery either
        if not holds:
            was_firing = self.status == "firing"
            fired = self.fired_at_ms
            self.status, self.consecutive = "ok", 0
            self.fired_at_ms = self.notified_at_ms = None
            if was_firing and fired is not None:
                return self._note(rule, monitor, "resolved", fired, now_ms, result)
            return None
        self.consecutive += 1
        if self.consecutive < rule.for_windows:
            self.status = "pending"
            return None
        if self.status != "firing":
            self.status, self.fired_at_ms, self.notified_at_ms = "firing", now_ms, now_ms
            return self._note(rule, monitor, "firing", now_ms, now_ms, result)
        due = (
            rule.renotify_seconds
            and self.notified_at_ms is not None
            and (now_ms - self.notified_at_ms >= rule.renotify_seconds * 1000)
        )
        if due:
            self.notified_at_ms = now_ms
            assert self.fired_at_ms is not None
            return self._note(rule, monitor, "firing", self.fired_at_ms, now_ms, result, True)
        return None  # firing and already told: deduplicated

    def _note(
        self,
        rule: AlertRule,
        monitor: str,
        status: str,
        fired_at: int,
        now_ms: int,
        result: Mapping[str, Any],
        reminder: bool = False,
    ) -> Notification:
        return Notification(
            monitor=monitor,
            rule=rule.name,
            condition=rule.condition,
            status=status,
            severity=rule.severity,
            dedup_key=f"{monitor}/{rule.name}/{fired_at}",
            fired_at_ms=fired_at,
            time_ms=now_ms,
            reminder=reminder,
            details={"dataset": dict(result.get("dataset") or {})}
            if result.get("dataset")
            else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "consecutive": self.consecutive,
            "fired_at_ms": self.fired_at_ms,
            "notified_at_ms": self.notified_at_ms,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AlertState:
        status = raw.get("status", "ok")
        if status not in ("ok", "pending", "firing"):
            raise InvalidArgument(f"alert state status {status!r}: ok, pending or firing")
        return cls(
            status=status,
            consecutive=int(raw.get("consecutive", 0)),
            fired_at_ms=raw.get("fired_at_ms"),
            notified_at_ms=raw.get("notified_at_ms"),
        )

"""One run of a monitor: read the deployment's latest window of predictions, compare it
with the reference's stored statistics, keep the verdicts as time series, move the alert
rules' states and send what they raise.

What it reads and where it sends are given to it (:class:`Sources`), so the same run
serves ``keel monitors run`` on an embedded store and the server's scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from keel.entities.monitor import AlertChange, Monitor, MonitorRun, ResultRow, RunRecord
from keel.errors import KeelError
from keel.monitoring.alert_state import AlertRule, AlertState, Notification
from keel.monitoring.channels import Channel

if TYPE_CHECKING:
    from keel.store.sql.monitors import SqlMonitorStore

log = logging.getLogger("keel.monitoring")

INPUT_PREFIX = "input."
LEASE_MS = 15 * 60 * 1000
"""How long a claim on a monitor holds: a run that takes longer may be run twice."""


@dataclass(frozen=True, slots=True)
class Sources:
    """What a run reads and where it sends."""

    read_window: Callable[[str, int, int], Any]
    """(deployment, start_ms, end_ms) -> the prediction log rows of that window (a polars
    DataFrame with ``input.<column>`` and ``prediction`` columns)."""
    load_reference: Callable[[str, str], Any]
    """(reference, deployment) -> a table or a
    :class:`keel.monitoring.reference.ReferenceProfile`; the reference is
    ``datasets:/...``, ``file:...`` or ``window:...`` (a past window of the deployment's log)."""
    channel: Callable[[Mapping[str, Any]], Channel]
    """A stored channel description -> a channel that can send."""
    read_feedback: Callable[[str, int], Any] | None = None
    """(deployment, since_ms) -> the labels logged for it since then (``prediction_id``,
    ``time``, ``label``), for monitors that score performance."""
    check_reference: Callable[[str], str] | None = None
    """reference -> the reference as kept (a ``file:`` path made absolute), once it is
    known to name something; NotFound when it does not (checked when a monitor is
    created, so a typo fails then and not at every run)."""
    file_root: Path | None = None
    """Where ``file:`` references must lie (a server's: a remote caller must not read the
    server's other files); ``None`` for a store on the user's own machine."""


def window_of(monitor: Monitor, now_ms: int) -> tuple[int, int]:
    """The window a run at ``now_ms`` reads: the last ``window`` seconds."""
    return now_ms - monitor.spec.window * 1000, now_ms


def current_frame(log_rows: Any) -> Any:
    """The prediction log's rows as the table drift compares: ``input.amount`` becomes
    ``amount``; ``prediction`` stays (prediction drift is a column like any other)."""
    keep = {
        name: name[len(INPUT_PREFIX) :] if name.startswith(INPUT_PREFIX) else name
        for name in log_rows.columns
        if name.startswith(INPUT_PREFIX) or name == "prediction"
    }
    return log_rows.select(list(keep)).rename(keep)


def run_monitor(
    store: SqlMonitorStore,
    monitor: Monitor,
    sources: Sources,
    *,
    now_ms: int,
    actor: str,
) -> MonitorRun:
    """Run ``monitor`` (which the caller has claimed) for the window ending at ``now_ms``;
    record everything in one transaction; the claim is released whatever happens."""
    try:
        return _run(store, monitor, sources, now_ms=now_ms, actor=actor)
    except BaseException:
        store.release(monitor)
        raise


def _run(
    store: SqlMonitorStore, monitor: Monitor, sources: Sources, *, now_ms: int, actor: str
) -> MonitorRun:
    from keel.monitoring.compare import drift

    start, end = window_of(monitor, now_ms)
    spec = monitor.spec
    profile = _reference(store, monitor, sources)
    log_rows = sources.read_window(spec.deployment, start, end)
    current = current_frame(log_rows)
    # The log holds what the reference may not (the prediction, when the reference is the
    # training data): only the reference's columns are compared. One the reference has
    # and the window lacks is a schema difference drift() reports.
    current = current.select([c for c in current.columns if c in profile.kinds])
    if current.height == 0:
        result: dict[str, Any] = {
            "no_data": True,
            "dataset": {"share": None, "drifted": False},
            "columns": [],
        }
        rows = [ResultRow(start, end, None, None, None, None, False, 0, no_data=True)]
    else:
        found = drift(profile, current, columns=spec.columns, tests=spec.tests or None)
        result = found.to_dict()
        rows = _rows(result, start, end, current.height)
        if spec.performance is not None:
            result["metrics"], labelled = _performance(spec.performance, log_rows, sources, start)
            result["labelled"] = labelled
            rows.extend(
                ResultRow(start, end, f"metric:{name}", name, _number(value), None, False, labelled)
                for name, value in result["metrics"].items()
            )
    notifications, changes, errors = _alerts(monitor, result, sources, now_ms)
    states = {**monitor.alert_states}
    for rule_spec in spec.rules:
        states.setdefault(rule_spec["name"], AlertState().to_dict())
    states.update(changes.states)
    store.record_run(
        monitor,
        RunRecord(
            window_start=start,
            window_end=end,
            rows=rows,
            alert_states=states,
            changes=changes.changes,
            next_run_at=now_ms + spec.every_seconds * 1000,
            actor=actor,
        ),
    )
    return MonitorRun(spec.name, start, end, result, [n.to_dict() for n in notifications], errors)


def _reference(store: SqlMonitorStore, monitor: Monitor, sources: Sources) -> Any:
    from keel.monitoring.reference import ReferenceProfile

    stored = store.reference_profile(monitor.id)
    if stored is not None:
        return ReferenceProfile.from_json(orjson.loads(stored))
    loaded = sources.load_reference(monitor.spec.reference, monitor.spec.deployment)
    if isinstance(loaded, ReferenceProfile):
        profile = loaded if monitor.spec.columns is None else loaded.select(monitor.spec.columns)
    else:
        profile = ReferenceProfile.of(loaded, monitor.spec.columns)
    store.save_reference_profile(monitor.id, orjson.dumps(profile.to_json()).decode())
    return profile


def _performance(
    model_type: str, log_rows: Any, sources: Sources, start: int
) -> tuple[dict[str, float | None], int]:
    """The window's metrics against the labels logged so far, however late they came
    (none yet: an empty mapping, so a ``metric:`` rule neither fires nor resolves)."""
    import polars as pl

    from keel.monitoring.performance import join_feedback, realised_performance

    if sources.read_feedback is None:
        return {}, 0
    labels = sources.read_feedback(log_rows["deployment"][0], start)
    if labels.height == 0:
        return {}, 0
    joined = join_feedback(log_rows, labels)
    # One window: every row stamped with the window's start, whatever its own time.
    joined = joined.with_columns(time=pl.lit(joined["time"].min()))
    scored = realised_performance(joined, model_type=model_type, window="3650d")  # type: ignore[arg-type]
    window = scored.windows[0]
    return (dict(window.metrics) if window.status == "ok" else {}), window.labelled


def _rows(result: Mapping[str, Any], start: int, end: int, count: int) -> list[ResultRow]:
    dataset = result["dataset"]
    rows = [
        ResultRow(
            start,
            end,
            None,
            "share",
            dataset.get("share"),
            dataset.get("threshold"),
            bool(dataset["drifted"]),
            count,
        )
    ]
    for column in result["columns"]:
        rows.append(
            ResultRow(
                start,
                end,
                column["column"],
                column.get("test"),
                _number(column.get("score")),
                _number(column.get("threshold")),
                bool(column.get("drifted")),
                count,
            )
        )
    return rows


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


@dataclass(slots=True)
class _Changes:
    changes: list[AlertChange] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)


def _alerts(
    monitor: Monitor, result: Mapping[str, Any], sources: Sources, now_ms: int
) -> tuple[list[Notification], _Changes, list[str]]:
    notes: list[Notification] = []
    changes = _Changes()
    errors: list[str] = []
    channels, broken = _channels(monitor, sources)
    for raw in monitor.spec.rules:
        rule = AlertRule(**raw)
        state = AlertState.from_dict(monitor.alert_states.get(rule.name, {}))
        note = state.observe(rule, result, now_ms=now_ms, monitor=monitor.name)
        changes.states[rule.name] = state.to_dict()
        if note is None:
            continue
        notes.append(note)
        failed = broken + _deliver(note, channels)
        errors.extend(failed)
        kind = "resolve" if note.status == "resolved" else "remind" if note.reminder else "fire"
        changes.changes.append(
            AlertChange(
                kind=kind,
                rule=rule.name,
                severity=rule.severity,
                dedup_key=note.dedup_key,
                at=now_ms,
                error="; ".join(failed) or None,
                payload={"condition": rule.condition, "dataset": result.get("dataset")},
            )
        )
    return notes, changes, errors


def _channels(monitor: Monitor, sources: Sources) -> tuple[list[Channel], list[str]]:
    """The monitor's channels built under this process's settings, and a line for each
    that cannot be (its host taken off the allow-list since): the others still send, and
    the run still lands. The line never repeats the URL (a Slack URL is a credential)."""
    built: list[Channel] = []
    broken: list[str] = []
    for raw in monitor.spec.channels:
        try:
            built.append(sources.channel(raw))
        except KeelError as exc:
            url = raw.get("url")
            message = exc.message.replace(url, "<url>") if isinstance(url, str) else exc.message
            broken.append(f"{raw.get('kind')}: {message}")
    return built, broken


def _deliver(note: Notification, channels: list[Channel]) -> list[str]:
    """Send to every channel; one failing does not stop the others (its error is kept).
    Refusals count as failures of that channel: an address the outbound guard refuses at
    send time (a name that now resolves to a private address), a name that does not
    resolve."""
    failed = []
    for channel in channels:
        try:
            channel.send(note)
        except KeelError as exc:
            log.warning("alert %s to %s failed: %s", note.dedup_key, channel.kind, exc.message)
            failed.append(f"{channel.kind}: {exc.message}")
    return failed

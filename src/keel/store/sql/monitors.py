"""Monitors, their results, alerts and events on SQL.

A run of a monitor is recorded in one transaction: its result rows, the alert rows it
opens, reminds or resolves, the events and audit records of those alerts, the rules'
states and the time of the next run. Several server replicas share the schedule: a replica
*claims* a due monitor by moving ``claimed_until`` forward in a conditional UPDATE, so
one replica runs it; a claim left by a replica that died expires.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from keel.entities.audit import AuditAction, ResourceType
from keel.entities.monitor import (
    AlertChange,
    AlertRecord,
    Event,
    Monitor,
    MonitorSpec,
    ResultRow,
    RunRecord,
)
from keel.errors import AlreadyExists, NotFound
from keel.store.sql.audit import Entry, append_many
from keel.store.sql.production_tables import alerts, events, monitor_results, monitors
from keel.store.sql.registry_rows import from_json, to_json

MAX_RESULTS = 10_000


class SqlMonitorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # monitors ---------------------------------------------------------------------------

    def create(self, spec: MonitorSpec, *, actor: str, now: int) -> Monitor:
        values = {
            "name": spec.name,
            "deployment": spec.deployment,
            "reference": spec.reference,
            "every_seconds": spec.every_seconds,
            "window_seconds": spec.window,
            "columns": to_json(list(spec.columns)) if spec.columns is not None else None,
            "tests": to_json(spec.tests),
            "rules": to_json(list(spec.rules)),
            "channels": to_json(list(spec.channels)),
            "performance": spec.performance,
            "alert_states": "{}",
            "created_at": now,
            "created_by": actor,
            "next_run_at": now,
            "claimed_until": 0,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(monitors).values(values))
                append_many(
                    conn,
                    [
                        Entry(
                            AuditAction.MONITOR_CREATE,
                            ResourceType.MONITOR,
                            spec.name,
                            actor,
                            now,
                            after=_audited(spec),
                        )
                    ],
                )
        except IntegrityError:
            raise AlreadyExists(f"monitor {spec.name!r}: already exists") from None
        return self.get(spec.name)

    def get(self, name: str) -> Monitor:
        with self.engine.connect() as conn:
            row = conn.execute(select(monitors).where(monitors.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"monitor {name!r}: no such monitor")
        return _monitor(row)

    def list_monitors(self) -> list[Monitor]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(monitors).order_by(monitors.c.name)).mappings().all()
        return [_monitor(r) for r in rows]

    def delete(self, name: str, *, actor: str, now: int) -> None:
        with self.engine.begin() as conn:
            # Results and alerts go with it (ON DELETE CASCADE; SQLite's is switched on
            # by the engine), explicitly too, for a database that does not cascade.
            found = conn.execute(
                select(monitors.c.id).where(monitors.c.name == name)
            ).scalar_one_or_none()
            if found is None:
                raise NotFound(f"monitor {name!r}: no such monitor")
            conn.execute(delete(monitor_results).where(monitor_results.c.monitor_id == found))
            conn.execute(delete(alerts).where(alerts.c.monitor_id == found))
            conn.execute(delete(monitors).where(monitors.c.id == found))
            append_many(
                conn,
                [Entry(AuditAction.MONITOR_DELETE, ResourceType.MONITOR, name, actor, now)],
            )

    def reference_profile(self, monitor_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(monitors.c.reference_profile).where(monitors.c.id == monitor_id)
            ).scalar_one_or_none()

    def save_reference_profile(self, monitor_id: int, profile_json: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(monitors)
                .where(monitors.c.id == monitor_id)
                .values(reference_profile=profile_json)
            )

    # the schedule -------------------------------------------------------------------------

    def claim_due(self, now: int, lease_ms: int) -> list[Monitor]:
        """The monitors due at ``now`` that this caller now holds (for ``lease_ms``)."""
        with self.engine.connect() as conn:
            due = conn.execute(
                select(monitors.c.name).where(
                    monitors.c.next_run_at <= now, monitors.c.claimed_until < now
                )
            ).scalars()
            names = list(due)
        return [m for name in names if (m := self.claim(name, now, lease_ms)) is not None]

    def claim(self, name: str, now: int, lease_ms: int) -> Monitor | None:
        """Hold ``name`` for a run (None when another caller holds it)."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(monitors)
                .where(monitors.c.name == name, monitors.c.claimed_until < now)
                .values(claimed_until=now + lease_ms)
            ).rowcount
        if not taken:
            self.get(name)  # NotFound for a name that is not there
            return None
        return self.get(name)

    def record_run(self, monitor: Monitor, record: RunRecord) -> None:
        """Write one run's results, alerts, events and audit records, move the schedule and
        release the claim, in one transaction."""
        with self.engine.begin() as conn:
            if record.rows:
                conn.execute(
                    insert(monitor_results),
                    [
                        {
                            "monitor_id": monitor.id,
                            "window_start": r.window_start,
                            "window_end": r.window_end,
                            "column_name": r.column,
                            "test": r.test,
                            "score": r.score,
                            "threshold": r.threshold,
                            "drifted": r.drifted,
                            "row_count": r.rows,
                            "no_data": r.no_data,
                        }
                        for r in record.rows
                    ],
                )
            audit: list[Entry] = []
            for change in record.changes:
                _apply(conn, monitor, change)
                if change.kind in ("fire", "resolve"):
                    kind = "alert.firing" if change.kind == "fire" else "alert.resolved"
                    payload = {
                        "monitor": monitor.name,
                        "deployment": monitor.spec.deployment,
                        "rule": change.rule,
                        "severity": change.severity,
                        "dedup_key": change.dedup_key,
                        **(change.payload or {}),
                    }
                    conn.execute(
                        insert(events).values(
                            at=change.at, kind=kind, subject=monitor.name, payload=to_json(payload)
                        )
                    )
                    action = (
                        AuditAction.ALERT_FIRE
                        if change.kind == "fire"
                        else AuditAction.ALERT_RESOLVE
                    )
                    audit.append(
                        Entry(
                            action,
                            ResourceType.MONITOR,
                            monitor.name,
                            record.actor,
                            change.at,
                            after={"rule": change.rule, "dedup_key": change.dedup_key},
                        )
                    )
            append_many(conn, audit)
            conn.execute(
                update(monitors)
                .where(monitors.c.id == monitor.id)
                .values(
                    alert_states=to_json(record.alert_states),
                    last_window_end=record.window_end,
                    next_run_at=record.next_run_at,
                    claimed_until=0,
                )
            )

    def release(self, monitor: Monitor) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(monitors).where(monitors.c.id == monitor.id).values(claimed_until=0)
            )

    # reading ------------------------------------------------------------------------------

    def results(
        self,
        name: str,
        *,
        since: int | None = None,
        column: str | None = None,
        limit: int = 1000,
    ) -> list[ResultRow]:
        """Result rows oldest first; ``column`` ``""`` for the dataset's rows only."""
        monitor = self.get(name)
        r = monitor_results.c
        query = select(monitor_results).where(r.monitor_id == monitor.id)
        if since is not None:
            query = query.where(r.window_end > since)
        if column == "":
            query = query.where(r.column_name.is_(None))
        elif column is not None:
            query = query.where(r.column_name == column)
        query = query.order_by(r.window_end.desc(), r.id).limit(min(limit, MAX_RESULTS))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            ResultRow(
                window_start=row["window_start"],
                window_end=row["window_end"],
                column=row["column_name"],
                test=row["test"],
                score=row["score"],
                threshold=row["threshold"],
                drifted=bool(row["drifted"]),
                rows=row["row_count"],
                no_data=bool(row["no_data"]),
            )
            for row in reversed(rows)
        ]

    def alerts(self, name: str | None = None, status: str | None = None) -> list[AlertRecord]:
        a = alerts.c
        query = select(alerts, monitors.c.name.label("monitor")).join(
            monitors, monitors.c.id == a.monitor_id
        )
        if name is not None:
            query = query.where(monitors.c.name == name)
        if status is not None:
            query = query.where(a.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.id.desc()).limit(1000)).mappings().all()
        return [
            AlertRecord(
                id=row["id"],
                monitor=row["monitor"],
                rule=row["rule"],
                status=row["status"],
                severity=row["severity"],
                dedup_key=row["dedup_key"],
                fired_at=row["fired_at"],
                resolved_at=row["resolved_at"],
                notified_at=row["notified_at"],
                notifications=row["notifications"],
                last_error=row["last_error"],
            )
            for row in rows
        ]

    def events(
        self, *, after_id: int = 0, kind: str | None = None, limit: int = 100
    ) -> list[Event]:
        """Events after ``after_id``, oldest first: a consumer keeps the last id it saw."""
        e = events.c
        query = select(events).where(e.id > after_id)
        if kind is not None:
            query = query.where(e.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(e.id).limit(min(limit, 1000))).mappings().all()
        return [
            Event(row["id"], row["at"], row["kind"], row["subject"], from_json(row["payload"]))
            for row in rows
        ]


def _apply(conn: Any, monitor: Monitor, change: AlertChange) -> None:
    a = alerts.c
    if change.kind == "fire":
        conn.execute(
            insert(alerts).values(
                monitor_id=monitor.id,
                rule=change.rule,
                status="firing",
                severity=change.severity,
                dedup_key=change.dedup_key,
                fired_at=change.at,
                notified_at=None if change.error else change.at,
                notifications=0 if change.error else 1,
                last_error=change.error,
            )
        )
        return
    where = and_(a.dedup_key == change.dedup_key, a.monitor_id == monitor.id)
    if change.kind == "remind":
        values: dict[str, Any] = {"last_error": change.error}
        if change.error is None:
            values.update(notified_at=change.at, notifications=a.notifications + 1)
        conn.execute(update(alerts).where(where).values(values))
    elif change.kind == "resolve":
        conn.execute(
            update(alerts)
            .where(where)
            .values(status="resolved", resolved_at=change.at, last_error=change.error)
        )
    else:  # a programming error
        raise ValueError(f"unknown alert change {change.kind!r}")


def _monitor(row: Any) -> Monitor:
    columns = from_json(row["columns"])
    spec = MonitorSpec(
        name=row["name"],
        deployment=row["deployment"],
        reference=row["reference"],
        every_seconds=row["every_seconds"],
        window_seconds=row["window_seconds"],
        columns=tuple(columns) if columns is not None else None,
        tests=from_json(row["tests"]) or {},
        rules=tuple(from_json(row["rules"]) or ()),
        channels=tuple(from_json(row["channels"]) or ()),
        performance=row["performance"],
    )
    return Monitor(
        id=row["id"],
        spec=spec,
        created_at=row["created_at"],
        created_by=row["created_by"],
        next_run_at=row["next_run_at"],
        last_window_end=row["last_window_end"],
        alert_states=from_json(row["alert_states"]) or {},
    )


def _audited(spec: MonitorSpec) -> dict[str, Any]:
    """What the audit log keeps of a monitor: never a channel's secret."""
    return {
        "deployment": spec.deployment,
        "reference": spec.reference,
        "every_seconds": spec.every_seconds,
        "rules": [r.get("name") for r in spec.rules],
        "channels": [c.get("kind") for c in spec.channels],
    }

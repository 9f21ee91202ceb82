"""Monitors, from the Python API, the CLI and the server alike.

:class:`LocalMonitors` works on a SQL store (the embedded one, PostgreSQL, or the one
inside ``keel server``, whose routes call it): it checks what a user gives, keeps it, and
runs monitors. :class:`RemoteMonitors` asks a ``keel server`` to do the same. Both answer
the same calls; ``keel.Client().monitors`` hands back the one its tracking URI needs.

>>> client.monitors.create(                                           # doctest: +SKIP
...     "fraud-drift", deployment="fraud-api", reference="datasets:/train@3", every="1h",
...     rules=[{"name": "drift", "condition": "dataset.drifted", "for_windows": 2}],
...     channels=[{"kind": "slack", "url": "https://hooks.slack.com/services/T/B/X"}])
>>> client.monitors.run("fraud-drift").result["dataset"]              # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from keel.config import Settings
from keel.entities.monitor import (
    AlertRecord,
    Event,
    Monitor,
    MonitorRun,
    MonitorSpec,
    ResultRow,
    check_alert_status,
    parse_duration,
)
from keel.errors import Conflict, InvalidArgument
from keel.monitoring.alert_state import AlertRule
from keel.monitoring.channel_specs import build_channel
from keel.monitoring.runner import LEASE_MS, Sources, run_monitor

if TYPE_CHECKING:
    from keel.store.backend import Backend
    from keel.store.deployments import DeploymentReader
    from keel.store.sql.monitors import SqlMonitorStore


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class MonitorsApi(Protocol):
    def create(
        self,
        name: str,
        *,
        deployment: str,
        reference: str,
        every: str | int = "1h",
        window: str | int | None = None,
        columns: Sequence[str] | None = None,
        tests: Mapping[str, str] | None = None,
        rules: Sequence[Mapping[str, Any]] = (),
        channels: Sequence[Mapping[str, Any]] = (),
        performance: str | None = None,
    ) -> Monitor: ...
    def get(self, name: str) -> Monitor: ...
    def list_monitors(self) -> list[Monitor]: ...
    def delete(self, name: str) -> None: ...
    def run(self, name: str) -> MonitorRun: ...
    def results(
        self, name: str, *, since: int | None = None, column: str | None = None, limit: int = 1000
    ) -> list[ResultRow]: ...
    def alerts(
        self, monitor: str | None = None, status: str | None = None
    ) -> list[AlertRecord]: ...
    def events(
        self, *, after_id: int = 0, kind: str | None = None, limit: int = 100
    ) -> list[Event]: ...


def check_spec(
    name: str,
    *,
    deployment: str,
    reference: str,
    every: str | int,
    window: str | int | None,
    columns: Sequence[str] | None,
    tests: Mapping[str, str] | None,
    rules: Sequence[Mapping[str, Any]],
    channels: Sequence[Mapping[str, Any]],
    settings: Settings,
    performance: str | None = None,
) -> MonitorSpec:
    """Everything a monitor is made of, checked: what the server stores is only this."""
    checked_rules: list[dict[str, Any]] = []
    for raw in rules:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise InvalidArgument("monitor rule: must be an object with a name and a condition")
        unknown = set(raw) - {"name", "condition", "for_windows", "renotify_seconds", "severity"}
        if unknown:
            raise InvalidArgument(
                f"monitor rule {raw['name']!r}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        rule = AlertRule(**raw)
        checked_rules.append(
            {
                "name": rule.name,
                "condition": rule.condition,
                "for_windows": rule.for_windows,
                "renotify_seconds": rule.renotify_seconds,
                "severity": rule.severity,
            }
        )
    names: list[str] = [r["name"] for r in checked_rules]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidArgument(f"monitor rules: each name once, {', '.join(repeated)} repeated")
    for channel in channels:
        build_channel(channel, settings)
    if tests is not None and not (
        isinstance(tests, Mapping) and all(isinstance(v, str) for v in tests.values())
    ):
        raise InvalidArgument("monitor tests: a mapping of column name to test name")
    if tests:
        from keel.monitoring.stattests import TESTS

        for column, test in tests.items():
            if test not in TESTS:
                raise InvalidArgument(
                    f"monitor tests[{column!r}]: unknown test {test!r}; choose one of "
                    f"{', '.join(TESTS)}"
                )
    return MonitorSpec(
        name=name,
        deployment=deployment,
        reference=reference,
        every_seconds=parse_duration(every, "monitor every"),
        window_seconds=None if window is None else parse_duration(window, "monitor window"),
        columns=None if columns is None else tuple(columns),
        tests=dict(tests or {}),
        rules=tuple(checked_rules),
        channels=tuple(dict(c) for c in channels),
        performance=performance,
    )


class LocalMonitors:
    def __init__(
        self,
        store: SqlMonitorStore,
        sources: Sources,
        settings: Settings,
        *,
        actor: str,
        deployments: DeploymentReader | None = None,
    ) -> None:
        self.store = store
        self.sources = sources
        self.settings = settings
        self.actor = actor
        self.deployments = deployments
        """When given, a monitor is made only for a deployment that exists."""

    def create(
        self,
        name: str,
        *,
        deployment: str,
        reference: str,
        every: str | int = "1h",
        window: str | int | None = None,
        columns: Sequence[str] | None = None,
        tests: Mapping[str, str] | None = None,
        rules: Sequence[Mapping[str, Any]] = (),
        channels: Sequence[Mapping[str, Any]] = (),
        performance: str | None = None,
    ) -> Monitor:
        spec = check_spec(
            name,
            deployment=deployment,
            reference=reference,
            every=every,
            window=window,
            columns=columns,
            tests=tests,
            rules=rules,
            channels=channels,
            settings=self.settings,
            performance=performance,
        )
        if spec.reference.startswith("file:"):
            from keel.monitoring.backend_sources import file_reference_path

            file_reference_path(spec.reference, self.sources.file_root)
        if self.deployments is not None:
            self.deployments.get_deployment(spec.deployment)  # NotFound names it
        if self.sources.check_reference is not None:
            from dataclasses import replace

            spec = replace(spec, reference=self.sources.check_reference(spec.reference))
        return self.store.create(spec, actor=self.actor, now=now_ms())

    def get(self, name: str) -> Monitor:
        return self.store.get(name)

    def list_monitors(self) -> list[Monitor]:
        return self.store.list_monitors()

    def delete(self, name: str) -> None:
        self.store.delete(name, actor=self.actor, now=now_ms())

    def run(self, name: str, *, at_ms: int | None = None) -> MonitorRun:
        """Run ``name`` now (whatever its schedule); Conflict while another run holds it."""
        at = now_ms() if at_ms is None else at_ms
        monitor = self.store.claim(name, at, LEASE_MS)
        if monitor is None:
            raise Conflict(
                f"monitor {name!r}: a run is already in progress (another client's, or the "
                "server's schedule); its results show in keel monitors show once it ends"
            )
        return run_monitor(self.store, monitor, self.sources, now_ms=at, actor=self.actor)

    def due(self, at_ms: int) -> list[Monitor]:
        """The monitors whose time has come, each now claimed by this caller (another
        replica's claims are left alone): run each with :meth:`run_claimed`."""
        return self.store.claim_due(at_ms, LEASE_MS)

    def run_claimed(self, monitor: Monitor, *, at_ms: int | None = None) -> MonitorRun:
        at = now_ms() if at_ms is None else at_ms
        return run_monitor(self.store, monitor, self.sources, now_ms=at, actor=self.actor)

    def run_due(self, *, at_ms: int | None = None) -> list[MonitorRun]:
        """Run every monitor whose time has come and that no other replica holds."""
        at = now_ms() if at_ms is None else at_ms
        return [self.run_claimed(m, at_ms=at) for m in self.due(at)]

    def results(
        self, name: str, *, since: int | None = None, column: str | None = None, limit: int = 1000
    ) -> list[ResultRow]:
        return self.store.results(name, since=since, column=column, limit=limit)

    def alerts(self, monitor: str | None = None, status: str | None = None) -> list[AlertRecord]:
        check_alert_status(status)
        return self.store.alerts(monitor, status)

    def events(
        self, *, after_id: int = 0, kind: str | None = None, limit: int = 100
    ) -> list[Event]:
        return self.store.events(after_id=after_id, kind=kind, limit=limit)


def open_monitors(
    backend: Backend, settings: Settings, *, actor: str, file_root: Path | None = None
) -> LocalMonitors:
    """Monitors on ``backend``'s database, reading its prediction log and datasets;
    ``file:`` references only under ``file_root`` when given (a server's)."""
    from keel.data.client import dataset_objects, open_data_client
    from keel.monitoring.backend_sources import backend_sources

    data = open_data_client(
        settings, lambda: backend.datasets, actor=actor, remote=lambda: dataset_objects(backend)
    )
    sources = backend_sources(backend, settings, load_dataset=data.load, file_root=file_root)
    return LocalMonitors(
        backend.monitors, sources, settings, actor=actor, deployments=backend.deployments
    )

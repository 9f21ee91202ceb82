"""Monitors through a ``keel server``: the same calls as
:class:`keel.monitoring.service.LocalMonitors`, answered by the server's routes (it keeps
and runs the monitors)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keel.entities.monitor import (
    AlertRecord,
    Event,
    Monitor,
    MonitorRun,
    ResultRow,
    check_alert_status,
    monitor_from_dict,
    result_row_from_dict,
)
from keel.store.rest.http import Http
from keel.wire import routes


class RestMonitors:
    def __init__(self, http: Http) -> None:
        self.http = http

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
        body = {
            "name": name,
            "deployment": deployment,
            "reference": reference,
            "every": every,
            "window": window,
            "columns": None if columns is None else list(columns),
            "tests": dict(tests or {}),
            "rules": [dict(r) for r in rules],
            "channels": [dict(c) for c in channels],
            "performance": performance,
        }
        return monitor_from_dict(self.http.request(*routes.CREATE_MONITOR.at(), json=body))

    def get(self, name: str) -> Monitor:
        return monitor_from_dict(self.http.request(*routes.GET_MONITOR.at(name=name)))

    def list_monitors(self) -> list[Monitor]:
        found = self.http.request(*routes.LIST_MONITORS.at())
        return [monitor_from_dict(m) for m in found["monitors"]]

    def delete(self, name: str) -> None:
        self.http.request(*routes.DELETE_MONITOR.at(name=name))

    def run(self, name: str) -> MonitorRun:
        return MonitorRun.from_dict(self.http.request(*routes.RUN_MONITOR.at(name=name)))

    def results(
        self, name: str, *, since: int | None = None, column: str | None = None, limit: int = 1000
    ) -> list[ResultRow]:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        if column is not None:
            params["column"] = column
        found = self.http.request(*routes.MONITOR_RESULTS.at(name=name), params=params)
        return [result_row_from_dict(r) for r in found["results"]]

    def alerts(self, monitor: str | None = None, status: str | None = None) -> list[AlertRecord]:
        check_alert_status(status)
        params = {k: v for k, v in {"monitor": monitor, "status": status}.items() if v}
        found = self.http.request(*routes.LIST_ALERTS.at(), params=params)
        return [AlertRecord(**a) for a in found["alerts"]]

    def events(
        self, *, after_id: int = 0, kind: str | None = None, limit: int = 100
    ) -> list[Event]:
        params: dict[str, Any] = {"after": after_id, "limit": limit}
        if kind is not None:
            params["kind"] = kind
        found = self.http.request(*routes.LIST_EVENTS.at(), params=params)
        return [Event(**e) for e in found["events"]]

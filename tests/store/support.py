"""Plain helpers for the store contract suite (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from keel.entities import MetricColumns, RunStatus
from keel.store import TrackingStore


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id() -> str:
    return uuid.uuid4().hex


def kind_of(store: TrackingStore) -> str:
    """``sqlite``, ``postgresql`` or ``rest``: for the few checks only one store can make."""
    engine = getattr(store, "engine", None)
    return "rest" if engine is None else str(engine.dialect.name)


def metrics(*points: tuple[str, float, int, int]) -> MetricColumns:
    """Metric columns from ``(key, value, timestamp, step)`` tuples."""
    cols = MetricColumns()
    for key, value, ts, step in points:
        cols.append(key, value, ts, step)
    return cols


@dataclass
class RunSpec:
    """One run for the ``make_runs`` fixture to create in a single batch."""

    name: str
    start_time: int = 0
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    user_id: str | None = None


_UNSET: Any = object()


def assert_cases(check: Callable[[Any], Any], cases: Iterable[Any], want: Any = _UNSET) -> None:
    """Run ``check`` on every case and report all mismatches at once.

    With ``want``, ``check`` returns what it got and each result must equal ``want``;
    without, ``check`` returns ``(got, want)``. An exception counts as a mismatch too.
    """
    problems = []
    for case in cases:
        try:
            result = check(case)
            got, expected = (result, want) if want is not _UNSET else result
        except Exception as exc:
            problems.append(f"{case!r}: raised {type(exc).__name__}: {exc}")
            continue
        if got != expected:
            problems.append(f"{case!r}: got {got!r}, want {expected!r}")
    assert not problems, "\n".join(problems)

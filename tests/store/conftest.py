"""Fixtures for the store contract suite.

Every test here takes the ``store`` fixture from ``tests/conftest.py`` and so runs once
per implementation (SQLite file, PostgreSQL, REST over a real ``keel server``). The server
is shared by the whole session, so tests create fresh experiments (``unique()``) and
never assume a store is empty.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import unique
from keel.entities import RunCreate, RunEnd, RunWrite, WriteBatch
from keel.store import TrackingStore
from store.support import RunSpec, metrics, new_id, now_ms

MakeRuns = Callable[..., dict[str, str]]


@pytest.fixture
def exp_id(store: TrackingStore) -> str:
    """A fresh, empty experiment."""
    return store.create_experiment(unique())


@pytest.fixture
def run_id(store: TrackingStore, exp_id: str) -> str:
    """A fresh RUNNING run in ``exp_id``."""
    return store.create_run(exp_id, run_name="r").run_id


@pytest.fixture
def make_runs(store: TrackingStore) -> MakeRuns:
    """Create runs from :class:`RunSpec` s in one write batch; returns name -> run id."""

    def make(experiment_id: str, *specs: RunSpec) -> dict[str, str]:
        ids: dict[str, str] = {}
        writes = []
        for spec in specs:
            rid = new_id()
            ids[spec.name] = rid
            start = spec.start_time or now_ms()
            writes.append(
                RunWrite(
                    rid,
                    create=RunCreate(experiment_id, spec.name, start, user_id=spec.user_id),
                    params=dict(spec.params),
                    tags=dict(spec.tags),
                    metrics=metrics(*((k, v, start, 0) for k, v in spec.metrics.items())),
                    end=RunEnd(spec.status, start + 10) if spec.status.is_terminal else None,
                )
            )
        store.write(WriteBatch(new_id(), writes))
        return ids

    return make

"""Fixtures for the fluent API's tests: it points at each store in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import keel
from keel.config import Settings
from keel.entities import RunStatus

Reader = Callable[[], keel.Client]


@pytest.fixture
def tracking(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the fluent API at ``store_uri``; afterwards end any run left and reset it."""
    monkeypatch.delenv("KEEL_TRACKING_URI", raising=False)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEL_ARTIFACTS_URI", str(tmp_path / "artifacts"))
    monkeypatch.setenv("KEEL_FLUSH_INTERVAL", "0.2")
    keel.set_tracking_uri(store_uri)
    try:
        yield store_uri
    finally:
        leaked = []
        while keel.active_run() is not None:
            leaked.append(keel.active_run())
            keel.end_run(RunStatus.KILLED)
        keel.set_tracking_uri(None)
        assert not leaked, f"test left runs active: {leaked}"


@pytest.fixture
def reader(tracking: str, tmp_path: Path) -> Iterator[Reader]:
    """Make a fresh client on the same store (not the fluent API's), closed at the end.
    It first waits (``keel.flush()``) for what the fluent API has logged to be stored."""
    made: list[keel.Client] = []

    def make() -> keel.Client:
        keel.flush()
        settings = Settings(home=tmp_path / "reader", artifacts_uri=str(tmp_path / "artifacts"))
        made.append(keel.Client(tracking, settings=settings))
        return made[-1]

    yield make
    for c in made:
        c.close()

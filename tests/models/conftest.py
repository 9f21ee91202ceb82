"""Fixtures for the model tests: tiny data, trained on in the tests; nothing downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.config import Settings

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


@pytest.fixture
def frame() -> Any:
    """40 rows of three float features."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])


@pytest.fixture
def labels(frame: Any) -> Any:
    return (frame["a"] + frame["b"] > 0).astype("int64").to_numpy()


@pytest.fixture
def no_trusted_sources() -> Settings:
    return Settings(home=Path(".keel"))


def _point_fluent_at(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import keel
    from keel.entities import RunStatus

    monkeypatch.delenv("KEEL_TRACKING_URI", raising=False)
    monkeypatch.delenv("KEEL_TRUSTED_MODEL_SOURCES", raising=False)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEL_ARTIFACTS_URI", str(tmp_path / "artifacts"))
    monkeypatch.setenv("KEEL_FLUSH_INTERVAL", "0.2")
    keel.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        leaked = []
        while keel.active_run() is not None:
            leaked.append(keel.active_run())
            keel.end_run(RunStatus.KILLED)
        keel.set_tracking_uri(None)
        assert not leaked, f"test left runs active: {leaked}"


@pytest.fixture
def fluent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fluent API (``keel.start_run``, ``keel.sklearn.log_model``, ...) on a fresh
    SQLite store and artifact folder; reset afterwards."""
    yield from _point_fluent_at(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path, monkeypatch)


@pytest.fixture
def fluent_on_every_store(
    store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The fluent API on each store in turn: SQLite, PostgreSQL and a real keel server."""
    yield from _point_fluent_at(store_uri, tmp_path, monkeypatch)

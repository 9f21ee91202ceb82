"""Fixtures for the model tests: tiny data, trained on in the tests; nothing downloaded."""

from __future__ import annotations

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

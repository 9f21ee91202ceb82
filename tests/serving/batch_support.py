"""A registered classifier and the files batch scoring reads, for the batch tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from keel.client import Client
from keel.config import Settings

FEATURES = ("a", "b", "c")


@dataclass(frozen=True)
class Registered:
    """A LogisticRegression registered as ``models:/churn`` version 1, alias champion."""

    store: str
    settings: Settings
    uri: str
    estimator: Any


def train(rows: int = 200, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=list(FEATURES))
    labels = np.where(frame["a"] + frame["b"] > 0, "yes", "no")
    return LogisticRegression().fit(frame, labels), frame


def table(rows: int, seed: int = 1) -> Any:
    """``rows`` rows of the features and an ``id`` column (not a feature)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=list(FEATURES))
    frame.insert(0, "id", np.arange(rows, dtype="int64") + 1000)
    return frame


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    root = tmp_path_factory.mktemp("batch")
    settings = Settings(home=root / "home", flush_interval=0.2)
    store = str(root / "store")
    client = Client(store, settings=settings)
    try:
        estimator, frame = train()
        experiment = client.create_experiment("batch")
        run_id = client.create_run(experiment).run_id
        logged = client.log_model(run_id, estimator, input_example=frame.head())
        version = client.registry.register_model(logged.uri, "churn")
        client.registry.set_alias("churn", "champion", version.version)
        client.set_terminated(run_id)
    finally:
        client.close()
    yield Registered(store, settings, "models:/churn@champion", estimator)

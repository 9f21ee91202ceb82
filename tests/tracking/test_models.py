"""Models logged to runs and loaded back by URI, on every store."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import keel
from conftest import unique
from keel.errors import Forbidden, InvalidArgument


@pytest.fixture
def tracking(store_uri: str) -> Iterator[str]:
    keel.set_tracking_uri(store_uri)
    try:
        yield store_uri
    finally:
        while keel.active_run() is not None:
            keel.end_run()
        keel.flush()
        keel.set_tracking_uri(None)


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(18, 90, 60), "spend": rng.normal(50, 10, 60)})
    return x, (x["spend"] > 50).to_numpy().astype(int)


def test_log_and_load_by_run_uri(tracking: str) -> None:
    x, y = _data()
    model = LogisticRegression().fit(x, y)
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(model, "model", input_example=x.head(5))
    keel.flush()
    assert logged.uri == f"runs:/{logged.run_id}/model"
    assert logged.manifest.flavor == "sklearn"
    files = {f.path for f in keel.Client(tracking).list_artifacts(logged.run_id, "model")}
    assert "model/keel-model.json" in files

    loaded = keel.load_model(logged.uri)
    assert (loaded.predict(x) == model.predict(x)).all()
    assert (loaded.predict(x.to_dict("records")) == model.predict(x)).all()


def test_pickled_model_needs_trust(tracking: str) -> None:
    x, y = _data()
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(LogisticRegression().fit(x, y), serialization="pickle")
    keel.flush()
    with pytest.raises(Forbidden, match="trust"):
        keel.load_model(logged.uri)
    assert len(keel.load_model(logged.uri, trust=True).predict(x)) == len(x)


def test_bad_model_uris_are_refused(tracking: str) -> None:
    for bad in ("file:///etc/passwd", "model", "runs:/nothex/model"):
        with pytest.raises(InvalidArgument):
            keel.load_model(bad)

"""Fixtures of the model server suite: a SQLite store holding a small registered
scikit-learn classifier (two versions that answer opposite classes) and a custom model
package that sleeps or raises on request."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.config import Settings

COLUMNS = [f"f{i}" for i in range(4)]


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a ``keel serve`` over a store with model ``iris``: version 1
    answers class 1 for the test row, version 2 class 0; alias ``champion`` -> 1."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import keel

    root = tmp_path_factory.mktemp("serving-store")
    uri = f"sqlite:///{root / 'keel.db'}"
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=COLUMNS)
    y = (x["f0"] + x["f1"] > 0).astype(int)
    with keel.Client(uri, settings=Settings(home=root / "home")) as client:
        run = client.create_run(client.create_experiment("serving"))
        for k, labels in enumerate((y, 1 - y)):
            model = LogisticRegression().fit(x, labels)
            logged = client.log_model(run.run_id, model, f"model{k}", input_example=x.head(3))
            client.registry.register_model(logged.uri, "iris")
        client.registry.set_alias("iris", "champion", 1)
        client.set_terminated(run.run_id)
    return {
        "KEEL_TRACKING_URI": uri,
        "KEEL_HOME": str(root / "home"),
        "KEEL_PREDICTION_LOG_FLUSH_SECONDS": "0.2",
    }


@pytest.fixture(scope="session")
def faulty_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keel.pyfunc package folder of ``faulty_model.Faulty``, its code packed in."""
    import pandas as pd

    import keel.pyfunc

    here = str(Path(__file__).parent)
    if here not in sys.path:  # the class is pickled as faulty_model.Faulty, as served
        sys.path.insert(0, here)
    from faulty_model import Faulty

    root = tmp_path_factory.mktemp("faulty")
    folder = root / "faulty"
    example = pd.DataFrame({"x": [1.0, 2.0], "delay": [0.0, 0.0], "fail": [0.0, 0.0]})
    keel.pyfunc.save_model(
        folder,
        python_model=Faulty(),
        code_paths=[str(Path(__file__).parent / "faulty_model.py")],
        input_example=example,
    )
    return folder


@pytest.fixture
def registry(model_store: dict[str, str]) -> Iterator[object]:
    """A registry client on the store, for moving aliases and making deployments."""
    from keel.store import open_backend

    settings = Settings(home=Path(model_store["KEEL_HOME"]))
    with open_backend(model_store["KEEL_TRACKING_URI"], settings) as backend:
        yield backend

"""Every flavor through the whole path: log to a run, register, alias, load by
``models:/name@champion``, and the same predictions as the model that was trained."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from keel.client import Client
from keel.config import Settings
from models.test_flavors import CASES


@pytest.fixture(scope="module")
def client(tmp_path_factory: Any) -> Any:
    root = tmp_path_factory.mktemp("registry-round-trip")
    c = Client(str(root / "store"), settings=Settings(home=root / "home", flush_interval=0.2))
    yield c
    c.close()


@pytest.mark.parametrize("case_name", list(CASES))
def test_log_register_and_load_by_alias(client: Any, case_name: str) -> None:
    case = CASES[case_name]()
    experiment = client.get_experiment_by_name("flavors") or client.get_experiment(
        client.create_experiment("flavors")
    )
    run_id = client.create_run(experiment.experiment_id, run_name=case_name).run_id
    logged = client.log_model(run_id, case.model, **case.save)
    assert logged.manifest.flavor == case.flavor
    version = client.registry.register_model(logged.uri, case_name.replace("_", "-"))
    client.registry.set_alias(version.name, "champion", version.version)
    client.set_terminated(run_id)

    loaded = client.load_model(f"models:/{version.name}@champion", trust=case.trust)
    predicted = case.pick(loaded.predict(case.data))
    if case.expected.dtype.kind in "fc":
        np.testing.assert_allclose(predicted, case.expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(predicted, case.expected)

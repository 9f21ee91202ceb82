"""``log_model`` takes MLflow's keywords as well as Keel's, and refuses an unknown one by
name with the accepted ones listed, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import keel
from keel.errors import InvalidArgument
from keel.models import Signature
from keel.models.log_options import LogOptions, save_options


def _model() -> tuple[Any, np.ndarray]:
    X = np.arange(20, dtype="float64").reshape(10, 2)
    return Ridge().fit(X, X[:, 0]), X


def test_mlflow_keywords_map_to_keels_options() -> None:
    options = LogOptions.parse(
        None,
        {
            "artifact_path": "clf",
            "registered_model_name": "churn",
            "pip_requirements": ["scikit-learn"],
            "extra_pip_requirements": ["boto3"],
            "metadata": {"team": "a"},
        },
    )
    assert options.name == "clf"
    assert options.registered_model_name == "churn"
    assert options.save == {
        "requirements": ["scikit-learn"],
        "extra_requirements": ["boto3"],
        "metadata": {"team": "a"},
    }
    assert LogOptions.parse(None, {}).name == "model"
    assert LogOptions.parse("m", {"artifact_path": "m"}).name == "m"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            None,
            {"conda_env": "env.yaml"},
            "unknown keyword 'conda_env'; accepted: name, artifact_path",
        ),
        (None, {"sigature": None, "x": 1}, "unknown keywords 'sigature', 'x'"),
        ("a", {"artifact_path": "b"}, "artifact_path: an alias of name"),
        ("a", {"name": "a"}, "name: given twice"),
        (None, {"requirements": [], "pip_requirements": []}, "give it or requirements, not both"),
        (None, {"registered_model_name": ""}, "registered_model_name: must be a non-empty"),
    ],
)
def test_bad_keywords_are_refused_by_name(name: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        LogOptions.parse(name, options)


def test_a_fixed_option_is_not_accepted_again() -> None:
    with pytest.raises(InvalidArgument, match="unknown keyword 'flavor'"):
        LogOptions.parse(None, {"flavor": "python"}, fixed={"flavor": "sklearn"})
    with pytest.raises(
        InvalidArgument, match="save_model: unknown keyword 'registered_model_name'"
    ):
        save_options({"registered_model_name": "m"})


def test_keel_log_model_refuses_an_unknown_keyword_before_starting_a_run(fluent: str) -> None:
    model, _ = _model()
    with pytest.raises(InvalidArgument, match="unknown keyword 'await_registration_for'"):
        keel.log_model(model, "model", await_registration_for=300)
    assert keel.active_run() is None
    with keel.start_run() as run, pytest.raises(InvalidArgument, match="artifact_path"):
        keel.sklearn.log_model(model, name="a", artifact_path="b")
    with keel.Client() as client:
        assert client.list_artifacts(run.info.run_id) == []


def test_client_log_model_takes_mlflow_keywords_and_registers(fluent: str) -> None:
    model, X = _model()
    with keel.Client() as client:
        experiment = client.create_experiment("kw")
        run_id = client.create_run(experiment).run_id
        info = client.log_model(
            run_id,
            model,
            artifact_path="ridge",
            registered_model_name="ridge",
            pip_requirements=["scikit-learn>=1"],
            extra_pip_requirements=["boto3"],
            input_example=X[:3],
        )
        assert info.uri == f"runs:/{run_id}/ridge"
        assert info.manifest.requirements == ("scikit-learn>=1", "boto3")
        version = client.registry.get_model_version("ridge", 1)
        assert version.source == info.uri
        assert info.registered_model_version == 1
        # The registry records the signature, outputs included, from the stored manifest.
        assert Signature.from_dict(json.loads(version.signature)) == info.signature
        np.testing.assert_allclose(
            client.load_model("models:/ridge/1").predict(X), model.predict(X)
        )
        with pytest.raises(InvalidArgument, match="unknown keyword 'conda_env'"):
            client.log_model(run_id, model, conda_env={})


def test_extra_requirements_are_added_to_the_pinned_ones(tmp_path: Path) -> None:
    model, _ = _model()
    manifest = keel.sklearn.save_model(model, tmp_path / "m", extra_pip_requirements=["boto3"])
    assert manifest.requirements[-1] == "boto3"
    assert any(r.startswith("scikit-learn==") for r in manifest.requirements)
    with pytest.raises(InvalidArgument, match="extra_requirements: must be a list"):
        keel.sklearn.save_model(model, tmp_path / "n", extra_pip_requirements="boto3")

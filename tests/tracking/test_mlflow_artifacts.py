"""MLflow's artifact idioms: ``keel.log_table`` and the ``keel.artifacts`` module
(``download_artifacts``, ``load_text``, ``load_dict``), on every store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

import keel
from conftest import unique
from keel.errors import InvalidArgument
from registry.support import MANIFEST

BACKENDS = pytest.mark.parametrize("store_uri", ["sqlite", "rest"], indirect=True)


@BACKENDS
def test_log_table_writes_mlflows_layout(tracking: str, tmp_path: Path) -> None:
    keel.set_experiment(unique("tables"))
    frame = pd.DataFrame({"feature": ["age", "bmi"], "coefficient": [0.5, -1.25]})
    with keel.start_run() as run:
        keel.log_table(data=frame, artifact_file="tables/coefficients.json")
        keel.log_table({"x": [1, 2], "y": ["a", "b"]}, "small.json")
        for data, name, rule in (
            (frame, "coefficients.csv", "saved as .json"),
            ({"x": [1, 2], "y": [1]}, "ragged.json", "same length"),
            ([1, 2], "list.json", "DataFrame or a dict"),
        ):
            with pytest.raises(InvalidArgument, match=rule):
                keel.log_table(data, name)
    uri = f"runs:/{run.info.run_id}"
    assert keel.artifacts.load_dict(f"{uri}/tables/coefficients.json") == {
        "columns": ["feature", "coefficient"],
        "data": [["age", 0.5], ["bmi", -1.25]],
    }
    assert json.loads(keel.artifacts.load_text(f"{uri}/small.json"))["data"] == [[1, "a"], [2, "b"]]
    names = {f.path for f in keel.Client().list_artifacts(run.info.run_id)}
    assert names == {"tables", "small.json"}  # the refused tables wrote nothing


@BACKENDS
def test_keel_artifacts_reads_a_runs_files_and_a_models(tracking: str, tmp_path: Path) -> None:
    keel.set_experiment(unique("artifacts"))
    with keel.start_run() as run:
        keel.log_text("hello", "notes/a.txt")
        keel.log_dict({"alpha": 1.0}, "config.yaml")
        keel.log_dict({"alpha": 2.0}, "config.json")
        keel.log_text("[1, 2]", "list.json")
        keel.Client().log_bytes(run.info.run_id, MANIFEST, "model/keel-model.json")
    run_id = run.info.run_id

    local = keel.artifacts.download_artifacts(run_id=run_id, artifact_path="notes")
    assert isinstance(local, str) and os.listdir(local) == ["a.txt"]
    into = keel.artifacts.download_artifacts(f"runs:/{run_id}/notes", dst_path=tmp_path / "d")
    assert Path(into, "a.txt").read_text() == "hello" and into.startswith(str(tmp_path))
    assert keel.artifacts.load_text(f"runs:/{run_id}/notes/a.txt") == "hello"
    assert keel.artifacts.load_dict(f"runs:/{run_id}/config.yaml") == {"alpha": 1.0}
    assert keel.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"alpha": 2.0}

    name = unique("arts")
    keel.register_model(f"runs:/{run_id}/model", name)
    model_files = keel.artifacts.download_artifacts(artifact_uri=f"models:/{name}/1")
    assert os.listdir(model_files) == ["keel-model.json"]

    for kwargs, rule in (
        ({}, "give exactly one"),
        ({"artifact_uri": f"runs:/{run_id}/notes", "run_id": run_id}, "give exactly one"),
        ({"artifact_uri": f"runs:/{run_id}", "artifact_path": "notes"}, "only with run_id"),
        ({"artifact_uri": "/etc/passwd"}, "artifact_uri '/etc/passwd': must be runs:/"),
        ({"artifact_uri": f"runs:/{run_id}/../x"}, "artifact_uri"),
    ):
        with pytest.raises(InvalidArgument, match=rule):
            keel.artifacts.download_artifacts(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="is a folder, not a file"):
        keel.artifacts.load_text(f"runs:/{run_id}/notes")
    with pytest.raises(InvalidArgument, match="holds a list, not a dict"):
        keel.artifacts.load_dict(f"runs:/{run_id}/list.json")
    with pytest.raises(InvalidArgument, match="not JSON"):
        keel.artifacts.load_dict(f"runs:/{run_id}/notes/a.txt")

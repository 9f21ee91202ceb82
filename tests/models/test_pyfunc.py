"""``keel.pyfunc``: a custom model with artifacts and code_paths, logged as an MLflow user
logs one, and loaded in a fresh process in another folder (where its module is not on the
path unless the package carries it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import keel
from keel.models import ColumnSpec

SRC = Path(keel.__file__).resolve().parents[1]

MODULE = '''
import json

import keel


class VocabTagger(keel.pyfunc.PythonModel):
    """Marks the words found in its vocabulary, scaled by a weight from a run's artifact."""

    def load_context(self, context):
        with open(context.artifacts["vocab"]) as f:
            self.vocab = set(f.read().split())
        with open(context.artifacts["weights"]) as f:
            self.weight = json.load(f)["weight"]

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1)
        return model_input["word"].isin(self.vocab).astype("int64") * self.weight * scale
'''

LOG = """
import sys

import pandas as pd

import keel
from tagger import VocabTagger

keel.set_tracking_uri(sys.argv[1])
with keel.start_run() as run:
    keel.log_dict({"weight": 3}, "config/weights.json")
    keel.pyfunc.log_model(
        "model",
        python_model=VocabTagger(),
        artifacts={"vocab": "vocab.txt", "weights": f"runs:/{run.info.run_id}/config/weights.json"},
        code_paths=sys.argv[3:],
        input_example=pd.DataFrame({"word": ["cat", "zebra"]}),
        registered_model_name=sys.argv[2],
    )
"""

LOAD = """
import json
import sys

import pandas as pd

import keel

keel.set_tracking_uri(sys.argv[1])
model = keel.pyfunc.load_model(sys.argv[2])  # trusted by KEEL_TRUSTED_MODEL_SOURCES
frame = pd.DataFrame({"word": ["cat", "dog", "zebra"]})
print(json.dumps({
    "plain": model.predict(frame).tolist(),
    "params": model.predict(frame, params={"scale": 2}).tolist(),
    "outputs": [c.name for c in model.signature.outputs],
}))
"""


def _python(
    script: str, *args: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    """A user's project folder (their own module ``tagger`` and a vocabulary file), an
    unrelated folder, and the environment of a fresh interpreter for each."""
    work = tmp_path / "project"
    (work / "tagger").mkdir(parents=True)
    (work / "tagger" / "__init__.py").write_text(textwrap.dedent(MODULE))
    (work / "vocab.txt").write_text("cat dog\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KEEL_") and key != "PYTHONPATH"
    }
    env.update(
        PYTHONPATH=str(SRC),  # keel itself, and nothing of the project's
        KEEL_HOME=str(tmp_path / "home"),
        KEEL_ARTIFACTS_URI=str(tmp_path / "artifacts"),
    )
    return {
        "work": work,
        "elsewhere": elsewhere,
        "env": env,
        "uri": f"sqlite:///{tmp_path / 'k.db'}",
    }


def test_a_custom_model_loads_in_a_fresh_process_in_another_folder(project: dict[str, Any]) -> None:
    env, uri = project["env"], project["uri"]
    logged = _python(LOG, uri, "tagger", "tagger", cwd=project["work"], env=env)
    assert logged.returncode == 0, logged.stderr

    untrusted = _python(LOAD, uri, "models:/tagger/1", cwd=project["elsewhere"], env=env)
    assert "keel.errors.Forbidden" in untrusted.stderr  # a pickle loads only with trust
    # A pinned version is trusted as listed; a bare name would trust only reviewed digests.
    trusted = {**env, "KEEL_TRUSTED_MODEL_SOURCES": "models:/tagger/1"}
    loaded = _python(LOAD, uri, "models:/tagger/1", cwd=project["elsewhere"], env=trusted)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1]) == {
        "plain": [3, 3, 0],
        "params": [6, 6, 0],
        "outputs": ["word"],
    }


def test_without_code_paths_the_same_load_fails_on_the_missing_module(
    project: dict[str, Any],
) -> None:
    # The control for the test above: what MLflow users hit without code_paths.
    env, uri = project["env"], project["uri"]
    logged = _python(LOG, uri, "no-code", cwd=project["work"], env=env)
    assert logged.returncode == 0, logged.stderr
    trusted = {**env, "KEEL_TRUSTED_MODEL_SOURCES": "models:/no-code/1"}
    loaded = _python(LOAD, uri, "models:/no-code/1", cwd=project["elsewhere"], env=trusted)
    assert loaded.returncode != 0
    assert "No module named 'tagger'" in loaded.stderr


class Doubler(keel.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input * self.factor


def test_a_custom_model_needs_trust_and_its_artifacts_are_local_paths(
    fluent: str, tmp_path: Path
) -> None:
    (tmp_path / "factor.txt").write_text("2.5")
    X = np.arange(6, dtype="float64").reshape(3, 2)
    with keel.start_run():
        info = keel.pyfunc.log_model(
            name="model",
            python_model=Doubler(),
            artifacts={"factor": tmp_path / "factor.txt"},
            input_example=X,
        )
    with pytest.raises(keel.errors.Forbidden, match="trust"):
        keel.pyfunc.load_model(info.model_uri)
    loaded = keel.pyfunc.load_model(info.model_uri, trust=True)
    np.testing.assert_allclose(loaded.predict(X), X * 2.5)
    files = set(loaded.manifest.files)
    assert "artifacts/factor/factor.txt" in files
    unwrapped = loaded.unwrap_python_model()
    assert isinstance(unwrapped, Doubler) and unwrapped.factor == 2.5
    context = loaded.model.context
    assert Path(context.artifacts["factor"]).read_text() == "2.5"
    assert Path(context.artifacts["factor"]).is_relative_to(loaded.path.resolve())


def predict_length(model_input: Any) -> Any:
    return model_input["text"].str.len()


def test_a_plain_function_as_the_model(fluent: str) -> None:
    frame = pd.DataFrame({"text": ["a", "abc"]})
    with keel.start_run():
        info = keel.pyfunc.log_model("model", python_model=predict_length, input_example=frame)
    assert info.signature is not None
    assert info.signature.outputs == (ColumnSpec("text", "int64"),)
    loaded = keel.pyfunc.load_model(info.model_uri, trust=True)
    assert loaded.predict(frame).tolist() == [1, 3]


def test_bad_pyfunc_arguments_are_refused_by_name(fluent: str, tmp_path: Path) -> None:
    with keel.start_run():
        with pytest.raises(keel.errors.InvalidArgument, match="python_model: required"):
            keel.pyfunc.log_model("model")
        with pytest.raises(keel.errors.InvalidArgument, match="pass an instance"):
            keel.pyfunc.log_model("model", python_model=Doubler)
        with pytest.raises(keel.errors.NotFound, match=r"artifacts\['x'\]"):
            keel.pyfunc.log_model("model", python_model=Doubler(), artifacts={"x": "nope.txt"})
        with pytest.raises(keel.errors.InvalidArgument, match=r"artifacts\['x'\]"):
            keel.pyfunc.log_model(
                "model", python_model=Doubler(), artifacts={"x": "s3://bucket/file"}
            )
        with pytest.raises(keel.errors.InvalidArgument, match="code_paths: must be a list"):
            keel.pyfunc.log_model("model", python_model=Doubler(), code_paths="src/")
        with pytest.raises(keel.errors.InvalidArgument, match="unknown keyword 'conda_env'"):
            keel.pyfunc.log_model("model", python_model=Doubler(), conda_env="env.yaml")
        run_id = keel.active_run().run_id  # type: ignore[union-attr]
    with keel.Client() as client:
        assert client.list_artifacts(run_id) == []


def test_params_are_refused_for_models_that_take_none(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge

    X = np.arange(6, dtype="float64").reshape(3, 2)
    keel.sklearn.save_model(Ridge().fit(X, [0, 1, 2]), tmp_path / "m")
    with pytest.raises(keel.errors.InvalidArgument, match="params: only custom Python models"):
        keel.pyfunc.load_model(tmp_path / "m").predict(X, params={"a": 1})
    with pytest.raises(keel.errors.InvalidArgument, match="unwrap_python_model: this is a"):
        keel.pyfunc.load_model(tmp_path / "m").unwrap_python_model()


def test_logging_with_code_paths_leaves_this_process_path_alone(
    fluent: str,
    project: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    request.addfinalizer(lambda: sys.modules.pop("tagger", None))
    monkeypatch.syspath_prepend(str(project["work"]))
    monkeypatch.chdir(project["work"])
    from tagger import VocabTagger  # type: ignore[import-not-found]

    before = list(sys.path)
    with keel.start_run():
        info = keel.pyfunc.log_model(
            "model",
            python_model=VocabTagger(),
            artifacts={"vocab": "vocab.txt", "weights": _weights(project["work"])},
            code_paths=["tagger"],
            input_example=pd.DataFrame({"word": ["cat"]}),
        )
    assert sys.path == before
    assert info.signature is not None and info.signature.outputs is not None
    assert {"code/tagger/__init__.py", "artifacts/vocab/vocab.txt"} <= set(info.manifest.files)


def _weights(folder: Path) -> Path:
    path = folder / "weights.json"
    path.write_text(json.dumps({"weight": 1}))
    return path


class Echo(keel.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input


def test_a_python_model_logged_through_keel_log_model_is_called_with_its_context(
    tmp_path: Path,
) -> None:
    X = np.ones((2, 2))
    keel.models.save_model(Echo(), tmp_path / "m")
    loaded = keel.models.load_model(tmp_path / "m", trust=True)
    np.testing.assert_array_equal(loaded.predict(X), X)
    assert isinstance(loaded.unwrap_python_model(), Echo)
    assert loaded.manifest.flavors["python"]["python_model"] is True

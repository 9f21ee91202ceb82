"""Every flavor round-trips: save, load, and the same predictions for every input kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from keel.models import LoadedModel, load_model, save_model
from models.support import input_kinds

KINDS = ("pandas", "polars", "numpy", "records")


def tiny_frame(dtype: str = "float64") -> Any:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"]).astype(dtype)


def tiny_labels(frame: Any, classes: int = 2) -> Any:
    score = (frame["a"] + frame["b"]).to_numpy()
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@dataclass
class Case:
    model: Any
    data: Any
    expected: Any
    flavor: str
    save: dict[str, Any] = field(default_factory=dict)
    trust: bool = False
    pick: Callable[[Any], Any] = lambda out: out


def sklearn_pipeline() -> Case:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = tiny_frame()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, tiny_labels(frame))
    return Case(model, frame, model.predict(frame), "sklearn", {"input_example": frame[:3]})


def sklearn_forest_on_arrays() -> Case:
    # Fitted on a plain array. Its trees are a type skops documents as unsafe from an
    # untrusted file, so it loads with trust (we made it); see test_untrusted_trees_...
    from sklearn.ensemble import RandomForestRegressor

    frame = tiny_frame()
    array = frame.to_numpy()
    model = RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0)
    model.fit(array, frame["c"])
    save = {"input_example": array[:2], "onnx": False}
    return Case(model, frame, model.predict(array), "sklearn", save, trust=True)


def xgboost_classifier() -> Case:
    import xgboost as xgb

    frame = tiny_frame()
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, tiny_labels(frame, 3))
    return Case(model, frame, model.predict(frame), "xgboost", {"input_example": frame[:3]})


def xgboost_booster() -> Case:
    import xgboost as xgb

    frame = tiny_frame()
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(frame, label=frame["c"]), 5)
    expected = booster.predict(xgb.DMatrix(frame))
    return Case(booster, frame, expected, "xgboost", {"serialization": "json"})


def lightgbm_classifier() -> Case:
    import lightgbm as lgb

    frame = tiny_frame()
    model = lgb.LGBMClassifier(n_estimators=5, min_child_samples=2, verbose=-1)
    model.fit(frame, np.array(["low", "mid", "high"])[tiny_labels(frame, 3)])
    return Case(model, frame, model.predict(frame), "lightgbm", {"input_example": frame[:3]})


def lightgbm_regressor() -> Case:
    import lightgbm as lgb

    frame = tiny_frame()
    model = lgb.LGBMRegressor(n_estimators=5, min_child_samples=2, verbose=-1)
    model.fit(frame, frame["c"])
    return Case(model, frame, model.predict(frame), "lightgbm", {"input_example": frame[:3]})


def onnx_from_sklearn() -> Case:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    frame = tiny_frame()
    array = frame.to_numpy(dtype="float32")
    fitted = LogisticRegression().fit(array, tiny_labels(frame))
    model = to_onnx(fitted, array[:1], options={"zipmap": False}, target_opset=17)
    return Case(
        model,
        frame,
        fitted.predict(array),
        "onnx",
        {"input_example": frame[:3]},
        pick=lambda out: out["label"],
    )


def pytorch_traced() -> Case:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    frame = tiny_frame("float32")
    with torch.no_grad():
        expected = model(torch.tensor(frame.to_numpy())).numpy()
    return Case(model, frame, expected, "pytorch", {"input_example": frame.to_numpy()[:2]})


def pytorch_scripted() -> Case:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    frame = tiny_frame("float32")
    with torch.no_grad():
        expected = model(torch.tensor(frame.to_numpy())).numpy()
    return Case(model, frame, expected, "pytorch")


class SumOfColumns:
    """A model no library knows: the python flavor's (cloudpickle, trust only)."""

    def predict(self, data: Any) -> Any:
        return np.asarray(data, dtype="float64").sum(axis=1)


def python_model() -> Case:
    frame = tiny_frame()
    model = SumOfColumns()
    return Case(
        model, frame, model.predict(frame), "python", {"input_example": frame[:2]}, trust=True
    )


CASES = {
    builder.__name__: builder
    for builder in (
        sklearn_pipeline,
        sklearn_forest_on_arrays,
        xgboost_classifier,
        xgboost_booster,
        lightgbm_classifier,
        lightgbm_regressor,
        onnx_from_sklearn,
        pytorch_traced,
        pytorch_scripted,
        python_model,
    )
}


@pytest.fixture(scope="module", params=list(CASES))
def saved(request: Any, tmp_path_factory: Any) -> tuple[Case, Path, LoadedModel]:
    case = CASES[request.param]()
    path = tmp_path_factory.mktemp("flavors") / request.param
    manifest = save_model(case.model, path, **case.save)
    assert manifest.flavor == case.flavor  # found by detection
    return case, path, load_model(path, trust=case.trust)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_gives_the_same_predictions(
    saved: tuple[Case, Path, LoadedModel], kind: str
) -> None:
    case, _, loaded = saved
    predicted = case.pick(loaded.predict(input_kinds(case.data)[kind]))
    expected = case.expected
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(predicted, expected)


def test_package_records_what_it_needs(saved: tuple[Case, Path, LoadedModel]) -> None:
    case, path, loaded = saved
    manifest = json.loads((path / "keel-model.json").read_text())
    info = manifest["flavors"][case.flavor]
    assert (path / info["file"]).is_file()
    assert set(manifest["files"]) == {p.name for p in path.iterdir()} - {"keel-model.json"}
    pinned = {requirement.split("==")[0] for requirement in manifest["requirements"]}
    assert {"numpy"} <= pinned
    assert all("==" in requirement for requirement in manifest["requirements"])
    if "input_example" in case.save:
        example = loaded.input_example()
        assert example is not None and len(example) == len(case.save["input_example"])
        assert loaded.signature is not None


def test_single_dict_is_one_row(saved: tuple[Case, Path, LoadedModel]) -> None:
    case, _, loaded = saved
    predicted = case.pick(loaded.predict(case.data.iloc[0].to_dict()))
    assert len(predicted) == 1

"""A missing model library says which extra to install, for every flavor's save and load
(simulated by blocking the module in ``sys.modules``, as an uninstalled one behaves)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import keel
from keel.errors import KeelError, MissingExtra

X = np.arange(40, dtype="float32").reshape(20, 2)
Y = (X[:, 0] > 20).astype("int64")


def _sklearn() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(X, Y)


def _xgboost() -> Any:
    import xgboost as xgb

    return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=Y), 2)


def _lightgbm() -> Any:
    import lightgbm as lgb

    return lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 2}, lgb.Dataset(X, Y), 2
    )


def _pytorch() -> Any:
    import torch

    return torch.nn.Linear(2, 1)


def _onnx() -> Any:
    from skl2onnx import to_onnx

    return to_onnx(_sklearn(), X[:1], options={"zipmap": False})


class Constant(keel.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return np.zeros(len(model_input))


# (module of keel, what makes a model, the modules a missing extra takes away,
#  the extra named, what the message says the user was doing)
CASES: dict[str, tuple[Callable[[], Any], tuple[str, ...], str, str]] = {
    "sklearn": (_sklearn, ("skops", "skops.io"), "sklearn", "a scikit-learn model"),
    "xgboost": (_xgboost, ("xgboost",), "xgboost", "an XGBoost model"),
    "lightgbm": (_lightgbm, ("lightgbm",), "lightgbm", "a LightGBM model"),
    "pytorch": (_pytorch, ("torch",), "pytorch", "a PyTorch model"),
    "onnx": (_onnx, ("onnx", "onnxruntime"), "onnx", "an ONNX model"),
    "pyfunc": (Constant, ("cloudpickle",), "python-model", "a Python model"),
}


def _block(monkeypatch: pytest.MonkeyPatch, modules: tuple[str, ...]) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now fails


def _save(module: str, model: Any, path: Path) -> Any:
    if module == "pyfunc":
        return keel.pyfunc.save_model(path, python_model=model)
    return getattr(keel, module).save_model(model, path, onnx=False)


@pytest.mark.parametrize("module", list(CASES))
def test_saving_without_the_library_names_the_extra(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, blocked, extra, what = CASES[module]
    model = make()
    _block(monkeypatch, blocked)
    with pytest.raises(MissingExtra) as caught:
        _save(module, model, tmp_path / "m")
    assert str(caught.value) == (
        f"Saving {what} needs the {extra} extra: pip install 'keel-mlops[{extra}]'"
    )
    assert isinstance(caught.value, KeelError) and isinstance(caught.value, ImportError)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize("module", list(CASES))
def test_loading_without_the_library_names_the_extra(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, blocked, extra, what = CASES[module]
    _save(module, make(), tmp_path / "m")
    _block(monkeypatch, blocked)
    load = keel.pyfunc.load_model if module == "pyfunc" else getattr(keel, module).load_model
    with pytest.raises(
        MissingExtra, match=rf"^Loading {what} needs the {extra} extra: pip install"
    ):
        load(tmp_path / "m", trust=True)


def test_a_fresh_process_without_skops_is_told_what_to_install(tmp_path: Path) -> None:
    keel.sklearn.save_model(_sklearn(), tmp_path / "m", onnx=False)
    script = (
        "import sys; sys.modules['skops'] = None\n"
        "import keel\n"
        f"keel.sklearn.load_model({str(tmp_path / 'm')!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "keel.errors.MissingExtra: Loading a scikit-learn model needs the sklearn extra: "
        "pip install 'keel-mlops[sklearn]'"
    )

"""MLflow users' model code with only ``mlflow`` replaced by ``keel``: the quickstart with a
model, each library's native log and load, and a registered model loaded back by
``models:/name/1`` (issue 12, API shapes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import keel
from keel.models import ColumnSpec, TensorSpec


def _frame(rows: int = 80, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["f0", "f1", "f2", "f3"])
    return X, (X["f0"] + X["f1"] > 0).astype("int64").to_numpy()


def test_the_quickstart_with_a_registered_model(fluent_on_every_store: str) -> None:
    # MLflow's tracking quickstart, as written for mlflow, with mlflow -> keel.
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    params = {"solver": "lbfgs", "max_iter": 1000, "random_state": 8888}
    lr = LogisticRegression(**params).fit(X_train, y_train)
    accuracy = accuracy_score(y_test, lr.predict(X_test))

    keel.set_experiment("MLflow Quickstart")
    with keel.start_run():
        keel.log_params(params)
        keel.log_metric("accuracy", accuracy)
        keel.set_tag("Training Info", "Basic LR model for iris data")
        signature = keel.infer_signature(X_train, lr.predict(X_train))
        model_info = keel.sklearn.log_model(
            sk_model=lr,
            artifact_path="iris_model",
            signature=signature,
            input_example=X_train,
            registered_model_name="tracking-quickstart",
        )

    # The server is shared by the session: another test may have registered this name.
    version = model_info.registered_model_version
    latest = keel.Client().registry.get_latest_versions("tracking-quickstart")
    assert version is not None and [v.version for v in latest] == [version]
    loaded_model = keel.pyfunc.load_model(model_info.model_uri)
    predictions = loaded_model.predict(X_test)
    np.testing.assert_array_equal(predictions, lr.predict(X_test))
    assert loaded_model.signature is not None
    assert loaded_model.signature.outputs == TensorSpec("int64", (-1,))

    native = keel.sklearn.load_model(f"models:/tracking-quickstart/{version}")
    assert type(native) is LogisticRegression
    np.testing.assert_array_equal(native.predict_proba(X_test), lr.predict_proba(X_test))


def test_sklearn_pipeline_loads_back_as_the_pipeline(fluent: str) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _frame()
    pipe = Pipeline(
        [("scaler", StandardScaler()), ("rf", RandomForestClassifier(5, random_state=0))]
    ).fit(X, y)
    with keel.start_run():
        info = keel.sklearn.log_model(pipe, "model", input_example=X.head(5))

    # The native estimator of a tree ensemble is rebuilt from a skops file holding trees,
    # which skops calls unsafe from an untrusted file: it takes trust (keel.load_model
    # serves the same model from its ONNX copy without).
    with pytest.raises(keel.errors.Forbidden, match=r"sklearn\.tree\._tree\.Tree"):
        keel.sklearn.load_model(info.model_uri)
    loaded = keel.sklearn.load_model(info.model_uri, trust=True)
    assert isinstance(loaded, Pipeline)
    assert loaded.get_params()["rf__n_estimators"] == 5
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # The signature was inferred from the example, its outputs from the model's answer.
    assert info.signature is not None
    assert [c.name for c in info.signature.columns] == ["f0", "f1", "f2", "f3"]
    assert info.signature.outputs == TensorSpec("int64", (-1,))
    # keel.load_model keeps returning the checked wrapper, which enforces the signature.
    with pytest.raises(keel.errors.InvalidArgument, match="missing column 'f3'"):
        keel.load_model(info.model_uri).predict(X.drop(columns="f3"))


def test_save_model_and_load_model_from_a_folder(tmp_path: Any) -> None:
    from sklearn.linear_model import Ridge

    X, y = _frame()
    model = Ridge().fit(X, y)
    keel.sklearn.save_model(model, tmp_path / "ridge", pip_requirements=["scikit-learn"])
    loaded = keel.sklearn.load_model(tmp_path / "ridge")
    assert type(loaded) is Ridge
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert keel.models.read_manifest(tmp_path / "ridge").requirements == ("scikit-learn",)


def test_xgboost_native_booster(fluent: str) -> None:
    import xgboost as xgb

    X, y = _frame()
    dtrain = xgb.DMatrix(X, label=y)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, 8)
    with keel.start_run():
        info = keel.xgboost.log_model(booster, name="model", input_example=X.head(5))

    loaded = keel.xgboost.load_model(info.model_uri)
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(X)), booster.predict(dtrain))
    assert loaded.feature_names == ["f0", "f1", "f2", "f3"]
    assert info.signature is not None and info.signature.outputs == TensorSpec("float32", (-1,))
    np.testing.assert_allclose(keel.load_model(info.model_uri).predict(X), booster.predict(dtrain))


def test_xgboost_sklearn_api(fluent: str) -> None:
    import xgboost as xgb

    X, y = _frame()
    clf = xgb.XGBClassifier(n_estimators=6, max_depth=2).fit(X, y)
    with keel.start_run():
        info = keel.xgboost.log_model(clf, "model", registered_model_name="xgb-clf")

    loaded = keel.xgboost.load_model("models:/xgb-clf/1")
    assert isinstance(loaded, xgb.XGBClassifier)
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    assert info.registered_model_version == 1


def test_lightgbm_native_booster(fluent: str) -> None:
    import lightgbm as lgb

    X, y = _frame()
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 4, "verbose": -1}, lgb.Dataset(X, y), 8
    )
    with keel.start_run():
        info = keel.lightgbm.log_model(booster, "model", input_example=X.head(5))

    loaded = keel.lightgbm.load_model(info.model_uri)
    assert isinstance(loaded, lgb.Booster)
    np.testing.assert_allclose(loaded.predict(X), booster.predict(X))
    assert info.signature is not None and info.signature.outputs == TensorSpec("float64", (-1,))


@pytest.mark.parametrize("labels", ["int", "str"])
def test_lightgbm_sklearn_api(fluent: str, labels: str) -> None:
    import lightgbm as lgb

    X, y = _frame()
    target = np.where(y == 1, "churn", "stay") if labels == "str" else y
    clf = lgb.LGBMClassifier(n_estimators=8, num_leaves=4, verbose=-1).fit(X, target)
    reg = lgb.LGBMRegressor(n_estimators=8, num_leaves=4, verbose=-1).fit(X, X["f2"])
    with keel.start_run():
        clf_info = keel.lightgbm.log_model(clf, "clf", input_example=X.head(3))
        reg_info = keel.lightgbm.log_model(reg, "reg")

    loaded = keel.lightgbm.load_model(clf_info.model_uri)
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params()["num_leaves"] == 4
    assert list(loaded.feature_names_in_) == ["f0", "f1", "f2", "f3"]
    if labels == "str":  # labels are no tensor: one string column of predictions
        assert clf_info.signature is not None
        assert clf_info.signature.outputs == (ColumnSpec("prediction", "string"),)
    regressor = keel.lightgbm.load_model(reg_info.model_uri)
    assert type(regressor) is lgb.LGBMRegressor
    np.testing.assert_allclose(regressor.predict(X), reg.predict(X))


def test_pytorch_module(fluent: str) -> None:
    import torch

    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with keel.start_run():
        info = keel.pytorch.log_model(net, name="model", input_example=X[:5])

    loaded = keel.pytorch.load_model(info.model_uri)
    assert isinstance(loaded, torch.nn.Module)
    assert not loaded.training
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(loaded(torch.from_numpy(X)).numpy(), expected, rtol=1e-6)
    assert info.signature is not None
    assert info.signature.inputs == TensorSpec("float32", (-1, 4))
    assert info.signature.outputs == TensorSpec("float32", (-1, 2))
    np.testing.assert_allclose(keel.pyfunc.load_model(info.model_uri).predict(X), expected)


def test_pytorch_pickled_module_needs_trust(fluent: str) -> None:
    import torch

    net = torch.nn.Linear(3, 1)
    with keel.start_run():
        info = keel.pytorch.log_model(net, "model", serialization="pickle")
    with pytest.raises(keel.errors.Forbidden, match="trust"):
        keel.pytorch.load_model(info.model_uri)
    loaded = keel.pytorch.load_model(info.model_uri, trust=True)
    assert type(loaded) is torch.nn.Linear
    assert torch.equal(loaded.weight, net.weight)


def test_onnx_model(fluent: str) -> None:
    import onnx
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    X, y = _frame()
    features = X.to_numpy().astype("float32")
    proto = to_onnx(LinearRegression().fit(features, y), features[:1])
    with keel.start_run():
        info = keel.onnx.log_model(proto, "model", input_example=features[:5])

    loaded = keel.onnx.load_model(info.model_uri)
    assert isinstance(loaded, onnx.ModelProto)
    assert loaded.SerializeToString() == proto.SerializeToString()
    predicted = keel.load_model(info.model_uri).predict(features)
    assert predicted.shape == (len(X), 1)


def test_loading_through_another_librarys_module_is_refused(fluent: str) -> None:
    from sklearn.linear_model import Ridge

    X, y = _frame()
    with keel.start_run():
        info = keel.sklearn.log_model(Ridge().fit(X, y), "model")
    with pytest.raises(
        keel.errors.InvalidArgument, match=r"this model has .*sklearn.*not 'xgboost'"
    ):
        keel.xgboost.load_model(info.model_uri)


def test_native_load_checks_digests_like_keel_load_model(fluent: str, tmp_path: Any) -> None:
    from sklearn.linear_model import Ridge

    X, y = _frame()
    folder = tmp_path / "ridge"
    keel.sklearn.save_model(Ridge().fit(X, y), folder)
    (folder / "model.skops").write_bytes(b"changed")
    with pytest.raises(keel.errors.CorruptData):
        keel.sklearn.load_model(folder)


@pytest.mark.parametrize("module", ["sklearn", "xgboost", "lightgbm"])
def test_autolog_forwards_to_keel_autolog_for_its_library(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keel.autologging

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(keel.autologging, "autolog", lambda **kw: calls.append(kw))
    getattr(keel, module).autolog(log_models=False)
    assert calls == [{"log_models": False, "libraries": (module,)}]
    with pytest.raises(keel.errors.InvalidArgument, match="libraries"):
        getattr(keel, module).autolog(libraries=("sklearn", "xgboost"))

"""Mirrors MLflow's examples/lightgbm/lightgbm_sklearn/train.py: LGBMClassifier through
the scikit-learn API, the model logged with mlflow.lightgbm.log_model, a signature and an
input example, then reloaded both natively and as a pyfunc, plus an LGBMRegressor
registered by name. Only ``mlflow`` was replaced by ``keel``."""

import lightgbm as lgb
import numpy as np
from sklearn.datasets import load_diabetes, load_iris
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error
from sklearn.model_selection import train_test_split

import keel
import keel.lightgbm
from keel.models import infer_signature

X, y = load_iris(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

with keel.start_run() as run:
    model = lgb.LGBMClassifier(n_estimators=20, learning_rate=0.1, verbose=-1, random_state=42)
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    keel.log_params(model.get_params())
    keel.log_metrics(
        {
            "accuracy": accuracy_score(y_test, y_pred),
            "f1_macro": f1_score(y_test, y_pred, average="macro"),
        }
    )
    signature = infer_signature(X_test, y_pred)
    model_info = keel.lightgbm.log_model(
        model, artifact_path="model", signature=signature, input_example=X_test.iloc[:2]
    )

loaded_model = keel.lightgbm.load_model(model_info.model_uri)
assert isinstance(loaded_model, lgb.LGBMClassifier)
np.testing.assert_array_equal(loaded_model.predict(X_test), y_pred)
print(keel.pyfunc.load_model(model_info.model_uri).predict(X_test.iloc[:5]))

Xr, yr = load_diabetes(return_X_y=True, as_frame=True)
with keel.start_run(run_name="lgbm-regressor"):
    regressor = lgb.LGBMRegressor(n_estimators=30, verbose=-1).fit(Xr, yr)
    keel.log_metric("training_mse", mean_squared_error(yr, regressor.predict(Xr)))
    keel.lightgbm.log_model(
        regressor,
        artifact_path="model",
        input_example=Xr.head(),
        registered_model_name="lgbm-diabetes",
    )

reloaded = keel.lightgbm.load_model("models:/lgbm-diabetes/latest")
print(reloaded.predict(Xr.head()))

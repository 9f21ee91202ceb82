"""Mirrors MLflow's examples/xgboost/xgboost_sklearn/train.py: the scikit-learn API
(XGBRegressor with eval_set) under mlflow.xgboost.autolog(), then the model logged
explicitly with a signature and loaded back with mlflow.xgboost.load_model and as a
pyfunc. Only ``mlflow`` was replaced by ``keel``."""

from pprint import pprint

import xgboost as xgb
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

import keel
import keel.xgboost
from keel.models import infer_signature


def main():
    keel.xgboost.autolog()

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    with keel.start_run() as run:
        regressor = xgb.XGBRegressor(n_estimators=20, max_depth=3, learning_rate=0.2)
        regressor.fit(X_train, y_train, eval_set=[(X_test, y_test)])
        y_pred = regressor.predict(X_test)
        mse = mean_squared_error(y_test, y_pred)
        run_id = run.info.run_id

        signature = infer_signature(X_test, y_pred)
        model_info = keel.xgboost.log_model(
            regressor, artifact_path="regressor", signature=signature, input_example=X_test[:3]
        )
        keel.log_metric("test_mse", mse)

    print("Logged data and model in run:", run_id)
    pprint(keel.get_run(run_id).data.metrics)

    loaded = keel.xgboost.load_model(model_info.model_uri)
    assert isinstance(loaded, xgb.XGBRegressor)
    pyfunc_model = keel.pyfunc.load_model(model_info.model_uri)
    print(pyfunc_model.predict(X_test[:3]))

    history = keel.Client().get_metric_history(run_id, "validation_0-rmse")
    assert len(history) == 20


if __name__ == "__main__":
    main()

"""Mirrors MLflow's examples/sklearn_elasticnet_wine/train.py: an ElasticNet whose alpha
and l1_ratio come from the command line, evaluated with RMSE/MAE/R², logged with
mlflow.log_param/log_metric and mlflow.sklearn.log_model (registered when the tracking
store is not a plain file store), the training frame recorded with mlflow.log_input
(MLflow 2.4+). The wine CSV download is replaced by load_diabetes.
Only ``mlflow`` was replaced by ``keel``."""

import logging
import sys
import warnings
from urllib.parse import urlparse

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import keel
import keel.sklearn
from keel.models.signature import infer_signature

logging.basicConfig(level=logging.WARN)
logger = logging.getLogger(__name__)


def eval_metrics(actual, pred):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mae = mean_absolute_error(actual, pred)
    r2 = r2_score(actual, pred)
    return rmse, mae, r2


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    np.random.seed(40)

    data = load_diabetes(as_frame=True).frame
    train, test = train_test_split(data)
    train_x = train.drop(["target"], axis=1)
    test_x = test.drop(["target"], axis=1)
    train_y = train[["target"]]
    test_y = test[["target"]]

    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5

    with keel.start_run():
        # MLflow 2.4+ dataset tracking: record what the model was trained on.
        dataset = keel.data.from_pandas(
            train, source="sklearn.datasets.load_diabetes", name="diabetes", targets="target"
        )
        keel.log_input(dataset, context="training")

        lr = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        lr.fit(train_x, train_y)

        predicted_qualities = lr.predict(test_x)
        (rmse, mae, r2) = eval_metrics(test_y, predicted_qualities)

        print(f"Elasticnet model (alpha={alpha:f}, l1_ratio={l1_ratio:f}):")
        print(f"  RMSE: {rmse}")
        print(f"  MAE: {mae}")
        print(f"  R2: {r2}")

        keel.log_param("alpha", alpha)
        keel.log_param("l1_ratio", l1_ratio)
        keel.log_metric("rmse", rmse)
        keel.log_metric("r2", r2)
        keel.log_metric("mae", mae)

        predictions = lr.predict(train_x)
        signature = infer_signature(train_x, predictions)

        tracking_url_type_store = urlparse(keel.get_tracking_uri()).scheme

        if tracking_url_type_store != "file":
            keel.sklearn.log_model(
                lr, "model", registered_model_name="ElasticnetDiabetesModel", signature=signature
            )
        else:
            keel.sklearn.log_model(lr, "model", signature=signature)

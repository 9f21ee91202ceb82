"""Mirrors MLflow's examples/xgboost/xgboost_native/train.py: xgb.train on a DMatrix with
mlflow.xgboost.autolog() and an evals list, so every round's metric is logged, plus the
test metrics logged by hand. Only ``mlflow`` was replaced by ``keel``."""

import argparse

import xgboost as xgb
from sklearn import datasets
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

import keel
import keel.xgboost


def parse_args():
    parser = argparse.ArgumentParser(description="XGBoost example")
    parser.add_argument("--learning-rate", type=float, default=0.3)
    parser.add_argument("--colsample-bytree", type=float, default=1.0)
    parser.add_argument("--subsample", type=float, default=1.0)
    return parser.parse_args()


def main():
    args = parse_args()

    iris = datasets.load_iris()
    X = iris.data
    y = iris.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    # enable auto logging
    keel.xgboost.autolog()

    dtrain = xgb.DMatrix(X_train, label=y_train)
    dtest = xgb.DMatrix(X_test, label=y_test)

    with keel.start_run() as run:
        params = {
            "objective": "multi:softprob",
            "num_class": 3,
            "learning_rate": args.learning_rate,
            "eval_metric": "mlogloss",
            "colsample_bytree": args.colsample_bytree,
            "subsample": args.subsample,
            "seed": 42,
        }
        model = xgb.train(params, dtrain, num_boost_round=20, evals=[(dtrain, "train")])

        y_proba = model.predict(dtest)
        y_pred = y_proba.argmax(axis=1)
        loss = log_loss(y_test, y_proba)
        acc = accuracy_score(y_test, y_pred)

        keel.log_metrics({"log_loss": loss, "accuracy": acc})

    client = keel.Client()
    history = client.get_metric_history(run.info.run_id, "train-mlogloss")
    print([(m.step, round(m.value, 4)) for m in history][:5])
    assert len(history) == 20

    booster = keel.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert (booster.predict(dtest) == y_proba).all()


if __name__ == "__main__":
    main()

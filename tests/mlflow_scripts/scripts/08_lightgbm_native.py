"""Mirrors MLflow's examples/lightgbm/lightgbm_native/train.py: lgb.train on a Dataset
with mlflow.lightgbm.autolog() and valid_sets, so each round's multi_logloss is metric
history, then test metrics logged by hand. Only ``mlflow`` was replaced by ``keel``."""

import argparse

import lightgbm as lgb
from sklearn import datasets
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

import keel
import keel.lightgbm


def parse_args():
    parser = argparse.ArgumentParser(description="LightGBM example")
    parser.add_argument("--learning-rate", type=float, default=0.1)
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
    keel.lightgbm.autolog()

    train_set = lgb.Dataset(X_train, label=y_train)

    with keel.start_run() as run:
        params = {
            "objective": "multiclass",
            "num_class": 3,
            "learning_rate": args.learning_rate,
            "metric": "multi_logloss",
            "colsample_bytree": args.colsample_bytree,
            "subsample": args.subsample,
            "seed": 42,
            "verbose": -1,
        }
        model = lgb.train(
            params, train_set, num_boost_round=10, valid_sets=[train_set], valid_names=["train"]
        )

        y_proba = model.predict(X_test)
        y_pred = y_proba.argmax(axis=1)
        loss = log_loss(y_test, y_proba)
        acc = accuracy_score(y_test, y_pred)

        keel.log_metrics({"log_loss": loss, "accuracy": acc})

    run_id = run.info.run_id
    history = keel.Client().get_metric_history(run_id, "train-multi_logloss")
    print([round(m.value, 4) for m in history])
    assert len(history) == 10
    booster = keel.lightgbm.load_model(f"runs:/{run_id}/model")
    assert isinstance(booster, lgb.Booster)


if __name__ == "__main__":
    main()

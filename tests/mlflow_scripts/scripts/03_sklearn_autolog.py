"""Mirrors MLflow's examples/sklearn_autolog/linear_regression.py and
utils.fetch_logged_data: autolog a fit, then read back what was logged through the
client with mlflow.last_active_run(). Only ``mlflow`` was replaced by ``keel``."""

from pprint import pprint

import numpy as np
from sklearn.ensemble import RandomForestRegressor

import keel
from keel.tracking import Client


def yield_artifacts(run_id, path=None):
    """Yield all artifacts in the specified run"""
    client = Client()
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            yield from yield_artifacts(run_id, item.path)
        else:
            yield item.path


def fetch_logged_data(run_id):
    """Fetch params, metrics, tags, and artifacts in the specified run"""
    client = Client()
    data = client.get_run(run_id).data
    # Exclude system tags: https://www.mlflow.org/docs/latest/tracking.html#system-tags
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    artifacts = list(yield_artifacts(run_id))
    return {
        "params": data.params,
        "metrics": data.metrics,
        "tags": tags,
        "artifacts": artifacts,
    }


def main():
    keel.sklearn.autolog()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ np.array([1.0, 2.0, -1.0, 0.5]) + rng.normal(scale=0.1, size=200)

    model = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0)
    model.fit(X, y)
    run_id = keel.last_active_run().info.run_id
    print(f"Logged data and model in run {run_id}")

    for key, data in fetch_logged_data(run_id).items():
        print(f"\n---------- logged {key} ----------")
        pprint(data)

    logged = fetch_logged_data(run_id)
    assert logged["params"]["n_estimators"] == "10"
    assert "training_r2_score" in logged["metrics"]
    assert any(path.startswith("model/") for path in logged["artifacts"])


if __name__ == "__main__":
    main()

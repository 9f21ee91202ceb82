"""Mirrors MLflow's hyperparameter-tuning pattern (examples/hyperparam and the
"Hyperparameter Tuning with child runs" guide): a parent run, one nested child run per
candidate with its params, metric and model, then mlflow.search_runs over the children,
the best picked with sort_values("metrics.rmse").iloc[0], recorded on the parent and
registered. Only ``mlflow`` was replaced by ``keel``."""

import itertools

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

import keel

X, y = load_diabetes(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)

search_space = {"learning_rate": [0.05, 0.2], "max_depth": [2, 3], "n_estimators": [20]}

experiment_id = keel.create_experiment(
    "diabetes-hyperparameter-search", tags={"project": "diabetes", "owner": "ml-team"}
)
keel.set_experiment(experiment_id=experiment_id)
with keel.start_run(
    run_name="gbr-search", description="Gradient boosting over learning rate and depth"
) as parent_run:
    keel.log_param("search_space", str(search_space))
    for values in itertools.product(*search_space.values()):
        params = dict(zip(search_space.keys(), values, strict=True))
        with keel.start_run(
            nested=True, run_name=f"lr={params['learning_rate']}-d={params['max_depth']}"
        ):
            keel.log_params(params)
            model = GradientBoostingRegressor(random_state=0, **params).fit(X_train, y_train)
            rmse = float(np.sqrt(mean_squared_error(y_val, model.predict(X_val))))
            keel.log_metric("rmse", rmse)
            keel.sklearn.log_model(model, artifact_path="model")

    child_runs = keel.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run.info.run_id}'",
    )
    best_run = child_runs.sort_values("metrics.rmse").iloc[0]
    print(child_runs[["run_id", "params.learning_rate", "params.max_depth", "metrics.rmse"]])
    keel.log_metric("best_rmse", best_run["metrics.rmse"])
    keel.log_params(
        {
            "best_learning_rate": best_run["params.learning_rate"],
            "best_max_depth": best_run["params.max_depth"],
        }
    )
    keel.set_tag("best_run_id", best_run["run_id"])

best_uri = f"runs:/{best_run['run_id']}/model"
mv = keel.register_model(model_uri=best_uri, name="diabetes-gbr")
model = keel.pyfunc.load_model(f"models:/{mv.name}/{mv.version}")
print("best model predicts", model.predict(X_val[:3]))

top = keel.search_runs(
    experiment_names=["diabetes-hyperparameter-search"],
    filter_string="metrics.rmse < 1000",
    order_by=["metrics.rmse ASC"],
    max_results=1,
)
assert top.iloc[0]["run_id"] == best_run["run_id"]

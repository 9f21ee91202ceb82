"""Mirrors MLflow's examples/sklearn_autolog/grid_search_cv.py: autolog a GridSearchCV,
then look at the parent run and the child run of each candidate with mlflow.search_runs
filtered on tags.mlflow.parentRunId. Only ``mlflow`` was replaced by ``keel``."""

from pprint import pprint

import pandas as pd
from sklearn import datasets, svm
from sklearn.model_selection import GridSearchCV

import keel


def main():
    keel.sklearn.autolog()

    iris = datasets.load_iris()
    parameters = {"kernel": ("linear", "rbf"), "C": [1, 10]}
    svc = svm.SVC()
    clf = GridSearchCV(svc, parameters)

    clf.fit(iris.data, iris.target)
    run_id = keel.last_active_run().info.run_id

    # show data logged in the parent run
    run = keel.get_run(run_id)
    print("========== parent run ==========")
    pprint(run.data.params)
    pprint(run.data.metrics)

    # show data logged in the child runs
    filter_child_runs = f"tags.mlflow.parentRunId = '{run_id}'"
    runs = keel.search_runs(filter_string=filter_child_runs)
    param_cols = [f"params.{p}" for p in parameters]
    metric_cols = ["metrics.mean_test_score"]

    print("\n========== child runs ==========\n")
    pd.set_option("display.max_columns", None)
    runs_df = runs[["run_id", *param_cols, *metric_cols]]
    runs_df = runs_df.sort_values(metric_cols, ascending=False)
    print(runs_df)
    assert len(runs_df) == 4
    assert run.data.params["best_C"] in {"1", "10"}
    assert "best_cv_score" in run.data.metrics


if __name__ == "__main__":
    main()

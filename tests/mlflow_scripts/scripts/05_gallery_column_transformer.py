"""Mirrors the scikit-learn gallery's "Column Transformer with Mixed Types"
(plot_column_transformer_mixed_types.py) with MLflow autologging switched on, as MLflow
users add it: a Pipeline of a ColumnTransformer (scaled numbers, one-hot categories) and
a LogisticRegression, tuned with GridSearchCV over nested parameters. Titanic (a download)
is replaced by a synthetic frame. Only ``mlflow`` was replaced by ``keel``."""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import keel

keel.set_experiment("titanic-like")
keel.autolog()

rng = np.random.default_rng(0)
n = 300
X = pd.DataFrame(
    {
        "age": rng.normal(30, 10, n),
        "fare": rng.gamma(2.0, 10.0, n),
        "embarked": rng.choice(["C", "Q", "S"], n),
        "sex": rng.choice(["female", "male"], n),
        "pclass": rng.choice(["1", "2", "3"], n),
    }
)
X.loc[::17, "age"] = np.nan
y = ((X["sex"] == "female") ^ (rng.random(n) < 0.2)).astype(int)

numeric_features = ["age", "fare"]
numeric_transformer = Pipeline(
    steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]
)
categorical_features = ["embarked", "sex", "pclass"]
categorical_transformer = Pipeline(steps=[("encoder", OneHotEncoder(handle_unknown="ignore"))])
preprocessor = ColumnTransformer(
    transformers=[
        ("num", numeric_transformer, numeric_features),
        ("cat", categorical_transformer, categorical_features),
    ]
)
clf = Pipeline(steps=[("preprocessor", preprocessor), ("classifier", LogisticRegression())])

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

param_grid = {
    "preprocessor__num__imputer__strategy": ["mean", "median"],
    "classifier__C": [0.1, 1.0, 10],
}
with keel.start_run(run_name="column-transformer-search") as run:
    search_cv = GridSearchCV(clf, param_grid, cv=3)
    search_cv.fit(X_train, y_train)
    keel.log_metric("test_accuracy", search_cv.score(X_test, y_test))

print("Best params:", search_cv.best_params_)
print(f"Test accuracy: {search_cv.score(X_test, y_test):.3f}")

logged = keel.get_run(run.info.run_id)
assert "best_classifier__C" in logged.data.params, sorted(logged.data.params)
children = keel.search_runs(filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
print(children[["params.classifier__C", "params.preprocessor__num__imputer__strategy"]])
assert len(children) == 5  # autolog's max_tuning_runs defaults to 5, as in MLflow

model = keel.sklearn.load_model(f"runs:/{run.info.run_id}/model")
print(model.predict(X_test.head()))

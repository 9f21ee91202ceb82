"""Mirrors MLflow's "Tracking quickstart" (docs: getting-started/intro-quickstart):
train a logistic regression on iris, log params, a metric, a tag and the model with a
signature, register it, then load it back as a pyfunc and predict.
Only ``mlflow`` was replaced by ``keel``."""

import pandas as pd
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

import keel
from keel.models import infer_signature

X, y = datasets.load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

params = {"solver": "lbfgs", "max_iter": 1000, "random_state": 8888}
lr = LogisticRegression(**params)
lr.fit(X_train, y_train)
y_pred = lr.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)

# MLflow's quickstart calls set_tracking_uri(uri="http://127.0.0.1:8080") here; the
# tests point the script at a store through KEEL_TRACKING_URI instead.
keel.set_experiment("MLflow Quickstart")

with keel.start_run():
    keel.log_params(params)
    keel.log_metric("accuracy", accuracy)
    keel.set_tag("Training Info", "Basic LR model for iris data")
    signature = infer_signature(X_train, lr.predict(X_train))
    model_info = keel.sklearn.log_model(
        sk_model=lr,
        artifact_path="iris_model",
        signature=signature,
        input_example=X_train,
        registered_model_name="tracking-quickstart",
    )

loaded_model = keel.pyfunc.load_model(model_info.model_uri)
predictions = loaded_model.predict(X_test)

iris_feature_names = datasets.load_iris().feature_names
result = pd.DataFrame(X_test, columns=iris_feature_names)
result["actual_class"] = y_test
result["predicted_class"] = predictions
print(result[:4])
assert (result["predicted_class"] == lr.predict(X_test)).all()

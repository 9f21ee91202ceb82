"""Mirrors MLflow's "Creating custom Pyfunc models" guide (the XGBoost wrapper example):
a model trained and saved to a local file, wrapped in a PythonModel whose load_context
reads it from context.artifacts, logged with mlflow.pyfunc.log_model(artifacts=...) and
loaded back with mlflow.pyfunc.load_model. Only ``mlflow`` was replaced by ``keel``.

The package holds a cloudpickled PythonModel; Keel loads pickles only from trusted
sources, so the test runs this script with KEEL_TRUSTED_MODEL_SOURCES set (see
tests/mlflow_scripts/test_scripts.py)."""

import os
import tempfile

import pandas as pd
import xgboost as xgb
from sklearn import datasets
from sklearn.model_selection import train_test_split

import keel
import keel.pyfunc

# Load training and test datasets
iris = datasets.load_iris()
x = iris.data[:, 2:]
y = iris.target
x_train, x_test, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=42)
dtrain = xgb.DMatrix(x_train, label=y_train)

# Train and save an XGBoost model
xgb_model = xgb.train(params={"max_depth": 10}, dtrain=dtrain, num_boost_round=10)
tmpdir = tempfile.mkdtemp()
xgb_model_path = os.path.join(tmpdir, "xgb_model.json")
xgb_model.save_model(xgb_model_path)

# Create an `artifacts` dictionary that assigns a unique name to the saved XGBoost model file.
# This dictionary will be passed to `keel.pyfunc.save_model`, which will copy the model file
# into the new model package.
artifacts = {"xgb_model": xgb_model_path}


# Define the model class
class XGBWrapper(keel.pyfunc.PythonModel):
    def load_context(self, context):
        import xgboost as xgb

        self.xgb_model = xgb.Booster()
        self.xgb_model.load_model(context.artifacts["xgb_model"])

    def predict(self, context, model_input, params=None):
        input_matrix = xgb.DMatrix(model_input.values)
        return self.xgb_model.predict(input_matrix)


keel.set_experiment("custom-pyfunc")
with keel.start_run():
    model_info = keel.pyfunc.log_model(
        artifact_path="xgb_mlflow_pyfunc",
        python_model=XGBWrapper(),
        artifacts=artifacts,
        input_example=pd.DataFrame(x_train[:2], columns=["petal_length", "petal_width"]),
        registered_model_name="xgb-wrapper",
    )

# Load the model in `python_function` format
loaded_model = keel.pyfunc.load_model(model_info.model_uri)

# Evaluate the model
test_predictions = loaded_model.predict(
    pd.DataFrame(x_test, columns=["petal_length", "petal_width"])
)
print(test_predictions[:3])
assert len(test_predictions) == len(x_test)

"""Mirrors MLflow's ONNX flavor example (docs: models, mlflow.onnx): a scikit-learn model
converted with skl2onnx, logged with mlflow.onnx.log_model and a signature, then loaded
as a pyfunc (onnxruntime) and as the ONNX ModelProto. Only ``mlflow`` was replaced by
``keel``."""

import numpy as np
import onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

import keel
import keel.onnx
from keel.models import infer_signature

X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)

initial_type = [("float_input", FloatTensorType([None, 4]))]
onnx_model = convert_sklearn(clf, initial_types=initial_type, options={"zipmap": False})

with keel.start_run():
    signature = infer_signature(X, clf.predict(X))
    model_info = keel.onnx.log_model(onnx_model, "model", signature=signature)

onnx_pyfunc = keel.pyfunc.load_model(model_info.model_uri)
predictions = onnx_pyfunc.predict(X[:5])
print(predictions)

proto = keel.onnx.load_model(model_info.model_uri)
assert isinstance(proto, onnx.ModelProto)

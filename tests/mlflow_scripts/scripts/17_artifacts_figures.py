"""Mirrors the scikit-learn gallery's "Plotting Cross-Validated Predictions"
(plot_cv_predict.py: cross_val_predict on diabetes, drawn with PredictionErrorDisplay),
logged with MLflow's artifact idioms (docs: tracking, "Logging artifacts"): the figure
with log_figure, a dict as JSON and YAML, text, a table, a single file and a folder, read
back with mlflow.artifacts.download_artifacts / load_text / load_dict. Only ``mlflow``
was replaced by ``keel``."""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import PredictionErrorDisplay
from sklearn.model_selection import cross_val_predict

import keel

X, y = load_diabetes(return_X_y=True, as_frame=True)
model = Ridge(alpha=1.0).fit(X, y)
y_pred = cross_val_predict(Ridge(alpha=1.0), X, y, cv=10)

keel.set_experiment("artifacts-demo")
with keel.start_run() as run:
    fig, ax = plt.subplots(figsize=(5, 5))
    PredictionErrorDisplay.from_predictions(
        y, y_pred=y_pred, kind="actual_vs_predicted", ax=ax, scatter_kwargs={"alpha": 0.5}
    )
    ax.set_title("Actual vs. Predicted values")
    keel.log_figure(fig, "plots/actual_vs_predicted.png")
    plt.close(fig)

    keel.log_dict({"alpha": 1.0, "features": list(X.columns)}, "config.json")
    keel.log_dict({"alpha": 1.0}, "config.yaml")
    keel.log_text("Ridge on diabetes, all features.", "notes.txt")

    coefficients = pd.DataFrame({"feature": X.columns, "coefficient": model.coef_})
    keel.log_table(data=coefficients, artifact_file="coefficients.json")

    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.md")
        with open(report, "w") as f:
            f.write(f"# Report\n\nR² on training data: {model.score(X, y):.3f}\n")
        keel.log_artifact(report)
        os.makedirs(os.path.join(tmp, "extras"))
        for name in ("a.txt", "b.txt"):
            with open(os.path.join(tmp, "extras", name), "w") as f:
                f.write(name)
        keel.log_artifacts(os.path.join(tmp, "extras"), artifact_path="extras")

    print("artifact uri:", keel.get_artifact_uri())

run_id = run.info.run_id
local = keel.artifacts.download_artifacts(run_id=run_id, artifact_path="plots")
print(os.listdir(local))
assert os.listdir(local) == ["actual_vs_predicted.png"]
notes = keel.artifacts.load_text(f"runs:/{run_id}/notes.txt")
config = keel.artifacts.load_dict(f"runs:/{run_id}/config.json")
assert notes.startswith("Ridge") and config["alpha"] == 1.0
extras = keel.artifacts.download_artifacts(artifact_uri=f"runs:/{run_id}/extras")
assert sorted(os.listdir(extras)) == ["a.txt", "b.txt"]

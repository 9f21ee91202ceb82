"""Mirrors MLflow's artifact-logging idioms (docs: tracking, "Logging artifacts";
examples of log_figure/log_dict/log_text/log_table): a matplotlib figure, a dict as JSON
and YAML, text, a table, a single file and a folder, read back with
mlflow.artifacts.download_artifacts / load_text / load_dict. Only ``mlflow`` was
replaced by ``keel``."""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import keel

X, y = load_diabetes(return_X_y=True, as_frame=True)
model = Ridge(alpha=1.0).fit(X, y)
pred = model.predict(X)

keel.set_experiment("artifacts-demo")
with keel.start_run() as run:
    fig, ax = plt.subplots()
    ax.scatter(y, pred, s=4)
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
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

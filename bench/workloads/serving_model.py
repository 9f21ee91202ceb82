"""The serving benchmark's model, made the same in every tool's environment.

A 20-feature scikit-learn LogisticRegression is fitted once (``train``, in Keel's
environment); its coefficients go to a JSON file, and every tool rebuilds the estimator
from that file instead of refitting, so that each server answers exactly the same
whatever its scikit-learn version. Phases, each run with that tool's interpreter:

- ``train --out model.json``: fit on seeded data; write coefficients, a few check rows
  and the predictions they must get;
- ``keel --model model.json``: log the model to Keel's store (``KEEL_HOME``) with an
  input example, register it and point the ``champion`` alias at it;
- ``mlflow --model model.json --out DIR``: save it as an MLflow model (signature from an
  input example) for ``mlflow models serve -m DIR``;
- BentoML rebuilds it in its service (``bentoml_service.py``) with :func:`build`.

Each phase prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

SEED = 14
FEATURES = 20
TRAIN_ROWS = 5000
CHECK_ROWS = 8
NAME = "bench-logreg"
COLUMNS = [f"f{i}" for i in range(FEATURES)]


def rows(count: int, seed: int) -> np.ndarray:
    """Seeded feature rows, rounded to 6 decimals so that JSON carries them exactly."""
    return np.round(np.random.default_rng(seed).normal(size=(count, FEATURES)), 6)


def train(out: Path) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    x = rows(TRAIN_ROWS, SEED)
    weights = np.random.default_rng(SEED + 1).normal(size=FEATURES)
    y = (x @ weights + np.random.default_rng(SEED + 2).normal(size=TRAIN_ROWS) > 0).astype(int)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    check = rows(CHECK_ROWS, SEED + 3)
    spec = {
        "columns": COLUMNS,
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "classes": model.classes_.tolist(),
        "check_rows": check.tolist(),
        "check_predictions": model.predict(check).tolist(),
    }
    out.write_text(json.dumps(spec))
    return {"model": str(out), "train_accuracy": float(model.score(x, y))}


def build(spec: dict[str, Any], *, named: bool) -> Any:
    """The fitted estimator from ``spec``; ``named`` when it will be given DataFrames
    (scikit-learn warns on every call when names are present on one side only)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.coef_ = np.asarray(spec["coef"], dtype=np.float64)
    model.intercept_ = np.asarray(spec["intercept"], dtype=np.float64)
    model.classes_ = np.asarray(spec["classes"])
    model.n_features_in_ = len(spec["columns"])
    if named:
        model.feature_names_in_ = np.asarray(spec["columns"], dtype=object)
    return model


def check_frame(spec: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame(spec["check_rows"], columns=spec["columns"])


def verified(spec: dict[str, Any], *, named: bool) -> Any:
    """:func:`build`, after checking that it predicts the check rows as trained."""
    model = build(spec, named=named)
    inputs = check_frame(spec) if named else np.asarray(spec["check_rows"])
    got = model.predict(inputs).tolist()
    if got != spec["check_predictions"]:
        raise SystemExit(f"rebuilt model predicts {got}, trained one {spec['check_predictions']}")
    return model


def keel_register(spec: dict[str, Any]) -> dict[str, Any]:
    import keel

    model = verified(spec, named=True)
    keel.set_experiment("bench-serving")
    with keel.start_run():
        logged = keel.log_model(model, "model", input_example=check_frame(spec).head(5))
    version = keel.register_model(logged, NAME)
    keel.Client().registry.set_alias(NAME, "champion", version.version)
    keel.flush()
    return {"uri": f"models:/{NAME}@champion", "version": version.version}


def mlflow_save(spec: dict[str, Any], out: Path) -> dict[str, Any]:
    import mlflow

    model = verified(spec, named=True)
    mlflow.sklearn.save_model(model, str(out), input_example=check_frame(spec).head(5))
    return {"path": str(out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("train", "keel", "mlflow"))
    parser.add_argument("--model", type=Path, help="the coefficients file `train` wrote")
    parser.add_argument("--out", type=Path, help="where `train` or `mlflow` writes")
    args = parser.parse_args()
    if args.phase == "train":
        print(json.dumps(train(args.out)))
        return
    spec = json.loads(args.model.read_text())
    result = keel_register(spec) if args.phase == "keel" else mlflow_save(spec, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

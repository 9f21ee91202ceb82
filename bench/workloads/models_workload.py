"""Model workload, one script for both tools (``--tool keel|mlflow``), run with that tool's
interpreter against its running server. Phases print one JSON object each:

- ``log``: train a 100-tree random forest, then time logging it with an input example,
  registering it and pointing the ``champion`` alias at it;
- ``predict``: load ``models:/<name>@champion`` and predict once (the harness times the
  whole process, from interpreter start to the first prediction);
- ``registry``: create N registered models with 5 versions each, then time listing them all.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

SEED = 7
ROWS, COLUMNS = 2000, 10
VERSIONS = 5


def data() -> tuple[Any, Any]:
    import pandas as pd

    rng = np.random.default_rng(SEED)
    x = pd.DataFrame(rng.normal(size=(ROWS, COLUMNS)), columns=[f"f{i}" for i in range(COLUMNS)])
    y = (x["f0"] + x["f1"] * 0.5 > 0).astype(int)
    return x, y


def train() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    x, y = data()
    return RandomForestClassifier(n_estimators=100, random_state=SEED).fit(x, y)


# Keel -------------------------------------------------------------------------------------


def keel_log(uri: str, name: str) -> dict[str, Any]:
    import keel

    keel.set_tracking_uri(uri)
    keel.set_experiment("bench-models")
    model, (x, _) = train(), data()
    start = time.perf_counter()
    with keel.start_run():
        logged = keel.log_model(model, "model", input_example=x.head(5))
    version = keel.register_model(logged, name)
    keel.Client(uri).registry.set_alias(name, "champion", version.version)
    keel.flush()
    return {"seconds": time.perf_counter() - start, "source": logged.uri}


def keel_predict(uri: str, name: str) -> dict[str, Any]:
    import keel

    keel.set_tracking_uri(uri)
    x, _ = data()
    predictions = keel.load_model(f"models:/{name}@champion").predict(x.head(100))
    return {"predictions": len(predictions)}


def keel_registry(uri: str, count: int, source: str) -> dict[str, Any]:
    import keel

    registry = keel.Client(uri).registry
    start = time.perf_counter()
    for i in range(count):
        for _ in range(VERSIONS):
            registry.register_model(source, f"bench-{i:05d}")
    created = time.perf_counter() - start
    start = time.perf_counter()
    listed, token = 0, None
    while True:
        page = registry.search_registered_models(max_results=1000, page_token=token)
        listed += len(page.models)
        token = page.next_page_token
        if not token:
            break
    return {"create_s": created, "list_s": time.perf_counter() - start, "listed": listed}


# MLflow -----------------------------------------------------------------------------------


def mlflow_log(uri: str, name: str) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-models")
    model, (x, _) = train(), data()
    start = time.perf_counter()
    with mlflow.start_run():
        # skops, as Keel uses; MLflow asks the saver to vouch for the tree type.
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            input_example=x.head(5),
            registered_model_name=name,
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    version = info.registered_model_version
    mlflow.MlflowClient(uri).set_registered_model_alias(name, "champion", version)
    return {"seconds": time.perf_counter() - start, "source": f"runs:/{info.run_id}/model"}


def mlflow_predict(uri: str, name: str) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    x, _ = data()
    predictions = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(x.head(100))
    return {"predictions": len(predictions)}


def mlflow_registry(uri: str, count: int, source: str) -> dict[str, Any]:
    import mlflow

    client = mlflow.MlflowClient(uri)
    start = time.perf_counter()
    for i in range(count):
        name = f"bench-{i:05d}"
        client.create_registered_model(name)
        run_id = source.split("/")[1]
        for _ in range(VERSIONS):
            client.create_model_version(name, source, run_id=run_id)
    created = time.perf_counter() - start
    start = time.perf_counter()
    listed, token = 0, None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        listed += len(page)
        token = page.token
        if not token:
            break
    return {"create_s": created, "list_s": time.perf_counter() - start, "listed": listed}


PHASES = {
    "keel": {"log": keel_log, "predict": keel_predict, "registry": keel_registry},
    "mlflow": {"log": mlflow_log, "predict": mlflow_predict, "registry": mlflow_registry},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["log", "predict", "registry"])
    parser.add_argument("--tool", choices=sorted(PHASES), required=True)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--name", default="bench-model")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--source", default="")
    args = parser.parse_args()
    phase = PHASES[args.tool][args.phase]
    if args.phase == "registry":
        result = phase(args.uri, args.count, args.source)
    else:
        result = phase(args.uri, args.name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

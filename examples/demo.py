"""Keel end to end on the embedded store: an experiment, a versioned training dataset, a
small sweep with nested runs, metrics, params, artifacts, a search, a metric history, and
a model through the registry (logged, registered, given the alias ``champion``, loaded by
``models:/demo-classifier@champion`` and asked for predictions).

Run with `make demo`; it writes to ./.keel (or KEEL_HOME) and prints what it did.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import keel


def train(learning_rate: float, depth: int, epochs: int = 30) -> float:
    """A stand-in for training: a noisy loss curve whose floor depends on the params."""
    rng = random.Random(hash((learning_rate, depth)))
    floor = 0.05 + abs(math.log10(learning_rate) + 2) * 0.05 + 0.02 * abs(depth - 6)
    loss = 1.0
    for epoch in range(epochs):
        loss = floor + (loss - floor) * (1 - learning_rate * 20) + rng.gauss(0, 0.005)
        keel.log_metrics({"loss": loss, "accuracy": 1 - loss}, step=epoch)
    return 1 - loss


def registry_demo(experiment_name: str) -> list[str]:
    """A small scikit-learn model through the registry; the lines to print."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3)).astype(np.float32)
    labels = (features @ np.array([1.5, -2.0, 0.5]) > 0).astype(np.int64)
    keel.set_experiment(experiment_name)
    with keel.start_run(run_name="logistic-regression"):
        model = LogisticRegression().fit(features, labels)
        keel.log_metric("train_accuracy", float(model.score(features, labels)))
        logged = keel.log_model(model, "model", input_example=features[:5])
    registry = keel.Client().registry
    version = keel.register_model(logged, "demo-classifier")
    registry.set_alias("demo-classifier", "champion", version.version)
    champion = keel.load_model("models:/demo-classifier@champion")  # digest checked
    predicted = champion.predict(features[:5])
    return [
        f"  model {logged.uri} registered as demo-classifier/{version.version}, alias champion set",
        f"  models:/demo-classifier@champion predicts {np.asarray(predicted).tolist()} "
        f"(labels {labels[:5].tolist()})",
    ]


def main() -> None:
    started = time.perf_counter()
    experiment = keel.set_experiment("demo-sweep")
    data = Path(keel.Client().settings.home) / "demo-data"
    data.mkdir(parents=True, exist_ok=True)
    for part in range(2):
        rows = "\n".join(f"{i},{(i * 7 + part) % 10}" for i in range(100))
        (data / f"part-{part}.csv").write_text(f"x,y\n{rows}\n")
    with keel.start_run(run_name="sweep", tags={"purpose": "demo"}) as parent:
        dataset = keel.log_dataset(data, name="demo-train", context="training")
        keel.log_param("search", "grid")
        best = ("", 0.0)
        for lr in (0.003, 0.01, 0.03):
            for depth in (4, 6, 8):
                with keel.start_run(run_name=f"lr={lr},depth={depth}", nested=True) as child:
                    keel.log_params({"learning_rate": lr, "depth": depth, "model": "gbm"})
                    accuracy = train(lr, depth)
                    if accuracy > best[1]:
                        best = (child.run_id, accuracy)
        keel.log_metric("best_accuracy", best[1])
        keel.log_dict({"best_run": best[0], "accuracy": best[1]}, "summary.json")
        keel.log_text("Grid search over learning rate and depth.\n", "README.txt")

    client = keel.Client()
    page = client.search_runs(
        [experiment.experiment_id],
        "params.model = 'gbm' and metrics.accuracy > 0.5",
        order_by=["metrics.accuracy DESC"],
        max_results=3,
    )
    history = client.get_metric_history(best[0], "loss")
    model_lines = registry_demo("demo-models")
    print(f"Keel demo: tracked to {keel.get_tracking_uri()}")
    print(f"  experiment {experiment.name!r} (id {experiment.experiment_id})")
    print(f"  1 parent run + 9 nested runs, {9 * 30 * 2 + 1} metric points, 2 artifacts")
    print(f"  trained on {dataset.uri} ({dataset.file_count} files, {dataset.digest[:12]})")
    print("  top runs by accuracy:")
    for run in page.runs:
        print(f"    {run.info.run_name:<20} accuracy={run.data.metrics['accuracy']:.4f}")
    print(f"  best run's loss history: {len(history)} points, last {history[-1].value:.4f}")
    print(f"  artifacts of the sweep: {[f.path for f in client.list_artifacts(parent.run_id)]}")
    print("\n".join(model_lines))
    print(f"  done in {time.perf_counter() - started:.2f}s")
    print("Look around:")
    print(f"  .venv/bin/keel runs list -e {experiment.name}")
    print(f"  .venv/bin/keel runs show {best[0]}")
    print("  .venv/bin/keel data show demo-train")
    print("  .venv/bin/keel models show demo-classifier@champion")
    print("  .venv/bin/keel server   # then open http://127.0.0.1:5000/docs")


if __name__ == "__main__":
    main()

"""Mirrors MLflow's "MlflowClient" tracking guide (docs: tracking/tracking-api, and the
python_api MlflowClient examples): create_experiment with tags, create_run, log_param,
log_batch of Metric/Param/RunTag entities, log_text and log_dict, get_metric_history,
set_terminated, search_runs with order_by, list_artifacts and download_artifacts.
Only ``mlflow`` was replaced by ``keel`` (``MlflowClient`` by ``Client``)."""

import json
import os
import tempfile
import time

from keel import Client
from keel.entities import Metric, Param, RunTag


def print_run_info(r):
    print(f"run_id: {r.info.run_id}")
    print(f"params: {r.data.params}")
    print(f"metrics: {r.data.metrics}")
    print(f"tags: {r.data.tags}")
    print(f"status: {r.info.status}")


client = Client()
experiment_id = client.create_experiment(
    "client-api-demo", tags={"project_name": "demo", "team": "ml"}
)
client.set_experiment_tag(experiment_id, "mlflow.note.content", "Runs made through the client")

run = client.create_run(experiment_id, run_name="batch-logging", tags={"stage": "dev"})
run_id = run.info.run_id
client.log_param(run_id, "alpha", 0.1)

timestamp = int(time.time() * 1000)
metrics = [Metric("loss", 1.0 / (step + 1), timestamp + step, step) for step in range(50)]
params = [Param("optimizer", "sgd"), Param("batch_size", "32")]
tags = [RunTag("framework", "numpy")]
client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
client.log_metric(run_id, "accuracy", 0.9, step=0)

client.log_text(run_id, "loss goes down", "notes/summary.txt")
client.log_dict(run_id, {"layers": [16, 8], "activation": "relu"}, "config/model.json")

history = client.get_metric_history(run_id, "loss")
print([(m.step, m.value) for m in history][:3], "...", len(history), "points")
assert len(history) == 50 and history[-1].value == 1.0 / 50

client.set_terminated(run_id)
run = client.get_run(run_id)
print_run_info(run)

second = client.create_run(experiment_id, run_name="second")
client.log_metric(second.info.run_id, "loss", 0.5)
client.set_terminated(second.info.run_id, status="FAILED")

runs = client.search_runs(
    experiment_ids=[experiment_id],
    filter_string="params.optimizer = 'sgd'",
    order_by=["metrics.loss ASC"],
)
print([r.info.run_name for r in runs])

artifacts = [f.path for f in client.list_artifacts(run_id)]
print("artifacts:", artifacts)
local_dir = tempfile.mkdtemp()
local_path = client.download_artifacts(run_id, "config", local_dir)
with open(os.path.join(local_path, "model.json")) as f:
    assert json.load(f)["activation"] == "relu"

experiment = client.get_experiment_by_name("client-api-demo")
print(experiment.experiment_id, experiment.tags)

"""Mirrors MLflow's "System Metrics" guide: set the sampling interval, turn system
metrics on for every run with mlflow.enable_system_metrics_logging(), do some work in a
run, then read system/cpu_utilization_percentage and friends back from the run.
Only ``mlflow`` was replaced by ``keel``."""

import time

import numpy as np

import keel

keel.set_system_metrics_sampling_interval(0.5)
keel.enable_system_metrics_logging()

keel.set_experiment("system-metrics")
with keel.start_run() as run:
    a = np.random.default_rng(0).normal(size=(300, 300))
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        a = np.tanh(a @ a.T / 300)
    keel.log_metric("work_done", float(a.mean()))

metrics = keel.Client().get_run(run.info.run_id).data.metrics
system = sorted(k for k in metrics if k.startswith("system/"))
print(system)
assert "system/cpu_utilization_percentage" in system
assert "system/system_memory_usage_megabytes" in system

keel.disable_system_metrics_logging()
with keel.start_run() as quiet:
    keel.log_metric("x", 1.0)
assert not any(k.startswith("system/") for k in keel.get_run(quiet.info.run_id).data.metrics)

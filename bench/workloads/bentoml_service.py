"""The serving benchmark's BentoML service: the shared LogisticRegression behind an adaptive
batching API, as BentoML's documentation writes one.

    BENCH_SERVING_MODEL=model.json bentoml serve bentoml_service:LogisticRegressionService

The model is rebuilt from the coefficients file (``serving_model.build``), so it answers as
Keel's and MLflow's copies do. One worker, like the other servers in the benchmark.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import bentoml
import numpy as np
from serving_model import verified


@bentoml.service(workers=1)
class LogisticRegressionService:
    def __init__(self) -> None:
        spec = json.loads(Path(os.environ["BENCH_SERVING_MODEL"]).read_text())
        self.model = verified(spec, named=False)

    @bentoml.api(batchable=True)
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)

"""A custom model that misbehaves on request: it sleeps ``delay`` seconds (the largest
in the batch) and raises when any row has ``fail`` > 0; else it answers ``x * 2``.
Packed with the model (code_paths), so the server process imports it from there."""

from __future__ import annotations

import time
from typing import Any

import keel.pyfunc


class Faulty(keel.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any) -> Any:
        delay = float(model_input["delay"].max())
        if delay > 0:
            time.sleep(delay)
        if float(model_input["fail"].max()) > 0:
            raise RuntimeError("the model failed on purpose: SECRET-INTERNAL-DETAIL")
        return (model_input["x"] * 2).to_numpy()

"""Serving: the model server (``keel serve``), its request protocols (Keel's JSON, Arrow
and CSV; MLflow's ``/invocations``; the Open Inference Protocol, KServe V2), adaptive
micro-batching, traffic between a deployment's versions, and batch scoring
(``keel predict``, locally or on Ray).

Names are imported on first use: ``import keel.serving`` loads no pyarrow, pandas or Ray.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "predict_file": "keel.serving.batch",
    "predict_on_ray": "keel.serving.ray_batch",
    "BatchResult": "keel.serving.batch",
    "build_context": "keel.serving.packaging",
    "manifests": "keel.serving.packaging",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keel.serving' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)

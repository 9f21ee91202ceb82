"""Serving: the model server (``keel serve``), its request protocols (Keel's JSON, Arrow
and CSV; MLflow's ``/invocations``; the Open Inference Protocol, KServe V2), adaptive
micro-batching, traffic between a deployment's versions, and batch scoring
(``keel predict``, locally or on Ray).

Names are imported on first use: ``import keel.serving`` loads no web framework, pyarrow,
pandas or Ray.

>>> import keel.serving
>>> keel.serving.serve("models:/fraud@champion", port=8080)         # doctest: +SKIP
>>> app = keel.serving.create_app("deployments:/fraud-api")         # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "serve": "keel.serving.run",
    "create_app": "keel.serving.app",
    "ServeOptions": "keel.serving.options",
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


def __dir__() -> list[str]:
    return sorted(_LAZY)


__all__ = sorted(_LAZY)

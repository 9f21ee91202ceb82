"""Serving: the model server (``keel serve``), its request protocols (Keel's JSON, Arrow
and CSV; MLflow's ``/invocations``; the Open Inference Protocol, KServe V2), adaptive
micro-batching, traffic between a deployment's versions, and batch scoring
(``keel predict``, locally or on Ray).

>>> import keel.serving
>>> keel.serving.serve("models:/fraud@champion", port=8080)         # doctest: +SKIP
>>> app = keel.serving.create_app("deployments:/fraud-api")         # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServeOptions", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    # Lazy: importing keel.serving (its protocols, say) loads no web framework.
    if name == "serve":
        from keel.serving.run import serve

        return serve
    if name == "create_app":
        from keel.serving.app import create_app

        return create_app
    if name == "ServeOptions":
        from keel.serving.options import ServeOptions

        return ServeOptions
    raise AttributeError(f"module 'keel.serving' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

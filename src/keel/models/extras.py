"""The optional libraries ``keel.models`` itself reads tables with (the flavors ask for
theirs through :func:`keel.extras.require` in their own modules)."""

from __future__ import annotations

from types import ModuleType

from keel.extras import require


def require_pandas(purpose: str) -> ModuleType:
    """pandas, or ``MissingExtra`` naming the ``pandas`` extra: a table given as a
    DataFrame, a dict of columns or records is read with it, and the ``sklearn``,
    ``xgboost`` and ``lightgbm`` extras bring it; an ONNX or PyTorch model fed numpy
    arrays never needs it."""
    return require("pandas", extra="pandas", purpose=purpose)

"""Optional libraries: import one that an extra of Keel installs, or say which extra to
install.

Keel's core installs no model library; each comes with an extra (``pip install
'keel-mlops[sklearn]'``). A caller that needs one asks for it here, so a missing library
reads as what to do, not as a bare ``ModuleNotFoundError`` from deep inside:

>>> require("skops.io", extra="sklearn", purpose="saving a scikit-learn model")  # doctest: +SKIP
Traceback (most recent call last):
keel.extras.MissingExtra: saving a scikit-learn model needs the sklearn extra: pip install 'keel-mlops[sklearn]' (no module named 'skops')
"""  # noqa: E501

from __future__ import annotations

import importlib
from types import ModuleType

from keel.errors import KeelError

DISTRIBUTION = "keel-mlops"


class MissingExtra(KeelError, ModuleNotFoundError):
    """A library an extra installs is not installed. Also a ``ModuleNotFoundError``, so
    code that falls back when a library is missing (``except ImportError``) still does."""

    code = "missing_extra"

    def __init__(self, message: str, *, extra: str, module: str | None) -> None:
        super().__init__(message)
        self.extra = extra
        self.name = module


def install_hint(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing(extra: str, purpose: str, module: str | None = None) -> MissingExtra:
    """The error for ``purpose`` (``"saving a scikit-learn model"``) lacking ``extra``."""
    detail = f" (no module named {module!r})" if module else ""
    return MissingExtra(
        f"{purpose} needs the {extra} extra: {install_hint(extra)}{detail}",
        extra=extra,
        module=module,
    )


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """``module`` imported, or MissingExtra naming ``extra`` when it (or a library it
    needs) is not installed. Errors other than a missing module pass through unchanged."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if isinstance(exc, MissingExtra):
            raise
        raise missing(extra, purpose, _top(exc.name) or module) from exc


def _top(name: str | None) -> str | None:
    return name.split(".")[0] if name else None

"""Optional dependencies: import one, or say which extra of ``keel-mlops`` brings it.

Keel installs light (``pip install keel-mlops``); tables, PostgreSQL, object stores,
figures and each model flavor come with an extra. A feature imports its library through
``require`` so a user without it reads what to install, not a bare ``ModuleNotFoundError``::

    pl = require("polars", extra="data", purpose="Reading a dataset table")
    # MissingExtra: Reading a dataset table needs the data extra:
    #               pip install 'keel-mlops[data]'
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from keel.errors import MissingExtra
from keel.version import DISTRIBUTION


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install 'keel-mlops[extra]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_extra(*, extra: str, purpose: str, module: str | None = None) -> MissingExtra:
    """The error for a feature whose extra is not installed (for callers that found out
    some other way, e.g. fsspec refusing a protocol)."""
    return MissingExtra(f"{purpose} needs the {extra} extra: {install_hint(extra)}", module=module)


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` and return it, or raise ``MissingExtra`` naming the extra.

    ``purpose`` is the feature, as the start of a sentence ("Reading a dataset table").
    Only a missing ``module`` (or one of its parents) becomes ``MissingExtra``; an error
    inside an installed library propagates as itself, so a broken install is not
    mistaken for an absent one.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing = getattr(error, "name", None)
        # ``import x`` with sys.modules["x"] = None raises ImportError naming x, as a
        # blocked or absent package does; a dependency of x missing names another module.
        if missing is None or _is_part_of(missing, module):
            raise missing_extra(extra=extra, purpose=purpose, module=module) from error
        raise


def _is_part_of(name: str, module: str) -> bool:
    """``name`` is ``module``, one of its parents or one of its children."""
    return name == module or module.startswith(name + ".") or name.startswith(module + ".")


def loaded(name: str) -> ModuleType | None:
    """The module ``name`` if it has been imported completely, else ``None``; importing
    nothing. A module another thread is still importing is in ``sys.modules`` already,
    half built (a model server's log writer may import pandas while a request checks
    whether its data is a DataFrame): it counts as not loaded.

    >>> loaded("sys") is sys.modules["sys"]
    True
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module

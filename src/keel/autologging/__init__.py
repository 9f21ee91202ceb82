"""Automatic logging of scikit-learn, XGBoost and LightGBM training.

``keel.autolog()`` patches the training entry points of those libraries: every
scikit-learn estimator's ``fit`` (see :mod:`keel.autologging.sklearn`), XGBoost's and
LightGBM's estimators and their native ``xgboost.train`` / ``lightgbm.train`` (see
:mod:`keel.autologging.boosting`). A patched call logs into the active run, or into a new
run named after the estimator (``xgboost.train``), ended when the call returns. Only a
call the user makes logs (see :mod:`keel.autologging.patching`). Logging never breaks
training: its failures become warnings; errors raised by training itself propagate.
System metrics (CPU, memory, disk, network, GPU) are :mod:`keel.autologging.system_metrics`.

>>> import keel
>>> keel.autolog()                                     # doctest: +SKIP
>>> LogisticRegression().fit(x, y)                     # doctest: +SKIP  (logs a run)
>>> keel.autolog(libraries=("xgboost",))               # doctest: +SKIP  (one library)
>>> keel.autolog(disable=True)                         # doctest: +SKIP  (restores fit)
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping, Sequence

from keel.autologging import patching
from keel.autologging.options import LIBRARIES, AutologOptions, check_libraries, check_options
from keel.autologging.patching import Handler
from keel.autologging.patching import _originals as _originals  # what is patched, for tests
from keel.errors import InvalidArgument

__all__ = ["AutologOptions", "autolog"]

logger = logging.getLogger("keel.autologging")


def autolog(
    *,
    libraries: Sequence[str] | None = None,
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    max_tuning_runs: int | None = 5,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    disable: bool = False,
) -> None:
    """Turn automatic logging on for ``libraries`` (``"sklearn"``, ``"xgboost"``,
    ``"lightgbm"``; None: each of them that is installed) or, with ``disable=True``, off
    for them (restoring every original function exactly). Calling it again only updates
    the options of the libraries it names; a library not installed is never imported.

    ``log_models``: the trained model (a search's refit best estimator), with
    ``log_input_examples`` (its first training rows) and ``log_model_signatures`` (inputs
    and outputs, inferred from those rows). ``log_datasets``: the training data's
    fingerprint tags. ``max_tuning_runs``: child runs a search logs, best first (None: all).
    ``silent``: no warnings when something cannot be logged. ``registered_model_name``:
    register each logged model as a new version of it. ``extra_tags``: tags for the runs
    autolog starts.
    """
    chosen = check_libraries(libraries)
    options = check_options(
        log_models=log_models,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_datasets=log_datasets,
        max_tuning_runs=max_tuning_runs,
        silent=silent,
        registered_model_name=registered_model_name,
        extra_tags=extra_tags,
    )
    if not isinstance(disable, bool):
        raise InvalidArgument(f"disable: must be True or False, got {disable!r}")
    if disable:
        patching.disable(chosen)
        return
    for library in chosen:
        if not _installed(library):
            continue
        try:
            targets = _TARGETS[library]()
        except Exception:
            if not silent:
                logger.warning("keel.autolog: could not patch %s", library, exc_info=True)
            continue
        patching.enable(library, options, targets)


def _sklearn() -> list[tuple[object, str, Handler]]:
    from keel.autologging import sklearn

    return sklearn.targets()


def _xgboost() -> list[tuple[object, str, Handler]]:
    from keel.autologging import boosting

    return boosting.xgboost_targets()


def _lightgbm() -> list[tuple[object, str, Handler]]:
    from keel.autologging import boosting

    return boosting.lightgbm_targets()


_TARGETS: dict[str, Callable[[], list[tuple[object, str, Handler]]]] = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
}
assert tuple(_TARGETS) == LIBRARIES


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False

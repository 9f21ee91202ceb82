"""Automatic logging of scikit-learn, XGBoost and LightGBM training.

``keel.autolog()`` patches the ``fit`` methods of those libraries' estimators. A patched
``fit`` logs into the active run (or into a new run named after the estimator, ended when
``fit`` returns): the estimator's parameters, training metrics, the fitted model as a Keel
model package and a fingerprint of the training data. Only a ``fit`` the user calls logs,
directly or through the estimator's own methods (``fit_predict``, ``fit_transform``): not the
``fit`` of the steps inside a ``Pipeline`` or ``GridSearchCV`` (one run for the whole), nor
one that the libraries make themselves (the clones ``cross_val_score`` fits, the label
encoders inside ``sklearn.metrics``). Logging never breaks a ``fit``: its failures become
warnings; errors raised by ``fit`` itself propagate.

>>> import keel
>>> keel.autolog()                                     # doctest: +SKIP
>>> LogisticRegression().fit(x, y)                     # doctest: +SKIP  (logs a run)
>>> keel.autolog(disable=True)                         # doctest: +SKIP  (restores fit)
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

from keel.entities import RunStatus
from keel.entities.rules import MAX_PARAM_VALUE_BYTES

__all__ = ["autolog"]

logger = logging.getLogger(__name__)

_MARK = "__keel_autolog__"
_EXAMPLE_ROWS = 5
_LIBRARIES = frozenset({"sklearn", "xgboost", "lightgbm"})
"""The packages whose estimators are patched; a ``fit`` called from their code is theirs."""

_lock = threading.Lock()
_local = threading.local()
_originals: dict[type, Any] = {}
"""Each patched class and the ``fit`` found in its own ``__dict__`` before patching."""
_config: dict[str, bool] = {"log_models": True, "log_input_examples": True}


def autolog(
    *, log_models: bool = True, log_input_examples: bool = True, disable: bool = False
) -> None:
    """Turn automatic logging on (patching ``fit``) or, with ``disable=True``, off
    (restoring every original ``fit`` exactly). Calling it again only updates the options.

    Patched: scikit-learn estimators (``sklearn.utils.all_estimators()`` and their base
    classes), ``xgboost.sklearn.XGBModel`` and ``lightgbm.sklearn.LGBMModel`` with their
    subclasses; a library that is not installed is never imported. Not patched: a ``fit(y)``
    that takes no training data (``LabelEncoder``, ``LabelBinarizer``)."""
    with _lock:
        if disable:
            for cls, original in _originals.items():
                setattr(cls, "fit", original)  # noqa: B010 - cls is any class
            _originals.clear()
            return
        _config["log_models"] = log_models
        _config["log_input_examples"] = log_input_examples
        for cls in _classes_to_patch():
            raw = cls.__dict__.get("fit")
            if cls in _originals or not inspect.isfunction(raw) or getattr(raw, _MARK, False):
                continue
            if _fits_only_targets(raw):
                continue
            _originals[cls] = raw
            setattr(cls, "fit", _patch(raw))  # noqa: B010


# which classes -------------------------------------------------------------------------


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _own_fit(classes: Iterator[type], package: str) -> Iterator[type]:
    for cls in classes:
        if "fit" in cls.__dict__ and cls.__module__.split(".")[0] == package:
            yield cls


def _fits_only_targets(fit: Callable[..., Any]) -> bool:
    """Whether ``fit`` is a ``fit(self, y)``: a target encoder's, with no training data."""
    try:
        names = list(inspect.signature(fit).parameters)
    except (TypeError, ValueError):
        return False
    return names[1:2] == ["y"]


def _subclasses(root: type) -> Iterator[type]:
    seen: set[type] = set()
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        todo.extend(cls.__subclasses__())


def _classes_to_patch() -> list[type]:
    found: dict[type, None] = {}
    if _installed("sklearn"):
        try:
            from sklearn.utils import all_estimators

            for _, estimator in all_estimators():
                for cls in _own_fit(iter(estimator.__mro__), "sklearn"):
                    found[cls] = None
        except Exception:
            logger.warning("keel.autolog: could not patch scikit-learn", exc_info=True)
    for package, module, base in (
        ("xgboost", "xgboost.sklearn", "XGBModel"),
        ("lightgbm", "lightgbm.sklearn", "LGBMModel"),
    ):
        if not _installed(package):
            continue
        try:
            root = getattr(importlib.import_module(module), base)
            for cls in _own_fit(_subclasses(root), package):
                found[cls] = None
        except Exception:
            logger.warning("keel.autolog: could not patch %s", package, exc_info=True)
    return list(found)


# the patched fit ---------------------------------------------------------------------


def _patch(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_local, "depth", 0)
        if depth > 0 or not _called_by_user(self, sys._getframe(1)):
            return original(self, *args, **kwargs)
        _local.depth = depth + 1
        try:
            return _logged_fit(original, self, args, kwargs)
        finally:
            _local.depth = depth

    setattr(fit, _MARK, True)
    return fit


def _called_by_user(model: Any, frame: FrameType | None) -> bool:
    """Whether this ``fit`` was called by the user's code, and not by a patched library's.

    From the caller outwards, the model's own methods (``fit_predict`` calling ``fit``)
    are passed over; the first other frame decides: a library's means the library fits
    the estimator for its own purposes (a label encoder in a metric, a clone in
    cross-validation)."""
    try:
        return _walk_to_caller(model, frame)
    except Exception:  # never break a fit: log it, as before this check
        logger.debug("keel.autolog: could not inspect the caller of fit", exc_info=True)
        return True


def _walk_to_caller(model: Any, frame: FrameType | None) -> bool:
    codes: set[CodeType] | None = None
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if not isinstance(module, str) or module.split(".")[0] not in _LIBRARIES:
            return True
        if codes is None:
            codes = _method_codes(type(model))
        if not (frame.f_code in codes and _first_argument(frame) is model):
            return False
        frame = frame.f_back
    return True


def _method_codes(cls: type) -> set[CodeType]:
    """The code of every function among ``cls``'s attributes and the functions they wrap."""
    codes: set[CodeType] = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            seen = 0
            while value is not None and seen < 10:  # a bounded walk down __wrapped__
                function = getattr(value, "__func__", value)
                code = getattr(function, "__code__", None)
                if isinstance(code, CodeType):
                    codes.add(code)
                value = getattr(value, "__wrapped__", None)
                seen += 1
    return codes


def _first_argument(frame: FrameType) -> Any:
    code = frame.f_code
    if code.co_argcount == 0:
        return None
    return frame.f_locals.get(code.co_varnames[0])


def _logged_fit(
    original: Callable[..., Any], model: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    import keel  # the public API: nothing but keel/__init__.py imports the fluent module

    owns_run = False
    if keel.active_run() is None:
        try:
            keel.start_run(run_name=type(model).__name__)
            owns_run = True
        except Exception:
            logger.warning("keel.autolog: could not start a run; not logging", exc_info=True)
            return original(model, *args, **kwargs)
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    _safely("parameters", lambda: keel.log_params(_params(model)))
    try:
        result = original(model, *args, **kwargs)
    except BaseException:
        if owns_run:
            _safely("the run's end", lambda: keel.end_run(RunStatus.FAILED))
        raise
    try:
        _safely("training metrics", lambda: _log_metrics(model, x, y))
        _safely("dataset fingerprint", lambda: keel.set_tags(_dataset_tags(x)))
        if _config["log_models"]:
            example = _head(x) if _config["log_input_examples"] else None
            _safely("model", lambda: keel.log_model(model, name="model", input_example=example))
    finally:
        if owns_run:
            _safely("the run's end", lambda: keel.end_run(RunStatus.FINISHED))
    return result


def _safely(what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:
        logger.warning("keel.autolog: could not log %s", what, exc_info=True)


# what is logged ------------------------------------------------------------------------


def _params(model: Any) -> dict[str, str]:
    params = model.get_params(deep=False)
    return {str(key): _truncate(_render(value)) for key, value in params.items()}


def _render(value: Any) -> str:
    if value is None or isinstance(value, str | bool | int | float | complex):
        return str(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(_render(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return str(item())
        except Exception:
            pass
    return type(value).__name__


def _truncate(text: str, limit: int = MAX_PARAM_VALUE_BYTES) -> str:
    text = text.replace("\x00", "")
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _log_metrics(model: Any, x: Any, y: Any) -> None:
    from sklearn.base import is_classifier, is_regressor

    import keel

    metrics: dict[str, float] = {}
    rows = _rows(x)
    if rows is not None:
        metrics["training_rows"] = float(rows)
    if y is not None and x is not None and (is_classifier(model) or is_regressor(model)):
        try:
            name = _score_name(model)
            if name is not None:
                metrics[f"training_{name}"] = float(model.score(x, y))
        except Exception:
            logger.warning("keel.autolog: could not score the training data", exc_info=True)
    if metrics:
        keel.log_metrics(metrics)


def _score_name(model: Any) -> str | None:
    """What ``model.score`` computes: the search's or estimator's ``scoring`` where its
    ``score`` uses it (``recall``, ``neg_mean_absolute_error``, a callable's name; the
    ``refit`` key of a multi-metric search), else the estimator's own score (``accuracy``
    for a classifier, ``r2`` for a regressor). None: ``score`` computes nothing to log."""
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor
    from sklearn.metrics import get_scorer_names

    default = "accuracy" if is_classifier(model) else "r2" if is_regressor(model) else "score"
    score = getattr(type(model), "score", None)
    if score in (ClassifierMixin.score, RegressorMixin.score):
        return default  # the estimator's own score, whatever its ``scoring`` (``RidgeCV``)
    scoring = getattr(model, "scoring", None)
    if getattr(model, "multimetric_", False):
        refit = getattr(model, "refit", None)
        return _key(refit) if isinstance(refit, str) else None  # score() needs a refit key
    if isinstance(scoring, str):
        # Not a scorer's name (``LogisticRegressionCV``'s "warn"): the default is used.
        return scoring if scoring in get_scorer_names() else default
    if callable(scoring):
        return _callable_name(scoring)
    return default


def _callable_name(scoring: Callable[..., Any]) -> str:
    """A scorer function's name, or the metric a ``make_scorer`` scorer wraps (``neg_``
    when it is negated, as scikit-learn names its own)."""
    name = getattr(scoring, "__name__", None)
    if isinstance(name, str) and not name.startswith("<"):
        return _key(name)
    inner = getattr(getattr(scoring, "_score_func", None), "__name__", None)
    if isinstance(inner, str) and not inner.startswith("<"):
        sign = getattr(scoring, "_sign", 1)
        prefix = "neg_" if isinstance(sign, int | float) and sign < 0 else ""
        return _key(prefix + inner.removesuffix("_score"))
    return "score"


def _key(name: str) -> str:
    """``name`` in a metric key's alphabet, short enough to follow ``training_``."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:200] or "score"


def _rows(x: Any) -> int | None:
    shape = getattr(x, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(x)
    except TypeError:
        return None


def _head(x: Any) -> Any:
    if x is None:
        return None
    head = getattr(x, "head", None)  # pandas
    if callable(head):
        return head(_EXAMPLE_ROWS)
    if hasattr(x, "tocsr"):  # scipy sparse: no example
        return None
    import numpy as np

    return np.asarray(x)[:_EXAMPLE_ROWS]  # lists of rows become an array


def _dataset_tags(x: Any) -> dict[str, str]:
    """``keel.dataset.fingerprint`` (BLAKE3 of the data), ``.rows`` and ``.columns``."""
    import numpy as np
    import pandas as pd

    from keel.artifacts.hashing import hash_bytes

    if x is None:
        return {}
    if isinstance(x, pd.Series):
        x = x.to_frame()
    if isinstance(x, pd.DataFrame):
        columns = [str(c) for c in x.columns]
        hashed = pd.util.hash_pandas_object(x, index=False).to_numpy().tobytes()
        data = hashed + "\x00".join(columns).encode("utf-8", "surrogatepass")
        rows, ncols = x.shape
    elif hasattr(x, "tocsr"):  # scipy sparse
        m = x.tocsr()
        data = (
            b"".join(np.ascontiguousarray(a).tobytes() for a in (m.data, m.indices, m.indptr))
            + f"{m.shape}{m.dtype.str}".encode()
        )
        rows, ncols = m.shape
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            frame = pd.DataFrame(arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1))
            body = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        else:
            body = np.ascontiguousarray(arr).tobytes()
        data = body + f"{arr.shape}{arr.dtype.str}".encode()
        rows = arr.shape[0] if arr.ndim else 1
        ncols = arr.shape[1] if arr.ndim > 1 else 1
    return {
        "keel.dataset.fingerprint": hash_bytes(data),
        "keel.dataset.rows": str(rows),
        "keel.dataset.columns": str(ncols),
    }

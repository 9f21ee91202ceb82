"""scikit-learn estimators and pipelines, in skops format by default.

skops stores objects as a JSON schema plus arrays and rebuilds only types it trusts; types
outside its defaults are listed by ``skops.io.get_untrusted_types``. Keel accepts those
in ``ALLOWED_TYPES`` (scikit-learn's neighbour and optimiser classes, rebuilt from
arrays) and refuses any other unless the model is trusted (``trust=True``, a trusted
source, or a version approved by review: see ``keel.registry.loading``).

Tree models are not in the allow-list: skops documents ``sklearn.tree._tree.Tree`` and
the histogram gradient boosting ``TreePredictor`` as unsafe for untrusted files (their
node indices are used without bounds checks, so a crafted file crashes or reads memory
at ``predict``; skops' ``UNTRUSTED_TYPE_REASONS``). An untrusted tree model is served by
its faithful ONNX copy, which Keel writes beside it and loads by default. Pickle is
written only when asked for (``serialization="pickle"``) and loaded only with trust.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.extras import require
from keel.models.flavors._common import (
    as_features,
    choice,
    feature_names,
    model_path,
    names,
    serialization_choice,
    version,
)
from keel.models.trust import PICKLE_RISK, refusal

NAME = "sklearn"
EXTRA = "sklearn"
REQUIREMENTS = ("scikit-learn", "skops", "numpy", "scipy")
SERIALIZATIONS = ("skops", "pickle")
FILES = {"skops": "model.skops", "pickle": "model.pkl"}

UNSAFE_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)
"""Types skops documents as unsafe to load from an untrusted file (as of skops 0.16);
those skops lists at run time are added (:func:`unsafe_types`)."""

ALLOWED_TYPES = frozenset(
    {
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        # SimpleImputer keeps the dtype it was fitted on; skops rebuilds a dtype from an
        # empty array of that dtype (loaded without pickle), so no code runs.
        "numpy.dtype",
    }
)
"""Types skops does not trust by default that common estimators hold (k-nearest
neighbours, MLPs, imputers), checked to be rebuilt from plain arrays. Never one of the
unsafe."""


def _skops(doing: str) -> Any:
    return require("skops.io", extra=EXTRA, purpose=f"{doing} a scikit-learn model")


def detect(model: object) -> bool:
    base = sys.modules.get("sklearn.base")
    return (
        base is not None
        and isinstance(model, base.BaseEstimator)
        and callable(getattr(model, "predict", None))
    )


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    serialization = serialization_choice(serialization, SERIALIZATIONS, NAME)
    path = folder / FILES[serialization]
    if serialization == "skops":
        _skops("Saving").dump(model, path)
    else:
        with open(path, "wb") as out:
            pickle.dump(model, out, protocol=5)
    return {
        "file": path.name,
        "serialization": serialization,
        "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
        "feature_names": feature_names(model),
        "sklearn_version": version("scikit-learn"),
        "skops_version": version("skops") if serialization == "skops" else None,
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    if choice(info, "serialization", SERIALIZATIONS, NAME) == "pickle":
        return f"a pickled scikit-learn model ({info.get('file')!s})"
    return None


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> SklearnModel:
    path = model_path(folder, info, NAME)
    serialization = choice(info, "serialization", SERIALIZATIONS, NAME)
    if serialization == "pickle":
        if not trust:
            raise refusal(f"a pickled scikit-learn model ({path.name})", PICKLE_RISK)
        require("sklearn", extra=EXTRA, purpose="Loading a scikit-learn model")
        with open(path, "rb") as src:
            estimator = pickle.load(src)
    else:
        skops_io = _skops("Loading")
        untrusted = skops_io.get_untrusted_types(file=path)
        unsafe = unsafe_types()
        unknown = sorted(set(untrusted) - (ALLOWED_TYPES - unsafe))
        if unknown and not trust:
            if set(unknown) & unsafe:
                raise refusal(
                    f"a skops file holding types skops documents as unsafe for untrusted "
                    f"files ({', '.join(unknown)})",
                    "a crafted tree crashes the process or reads memory when it predicts. "
                    "An untrusted tree model loads through its ONNX copy (saved by default "
                    "when skl2onnx can convert it; load it without flavor='sklearn'), or "
                    "once its version is approved by review",
                )
            raise refusal(
                f"a skops file holding types outside Keel's allow-list ({', '.join(unknown)})",
                "rebuilding an unknown type can run its code",
            )
        estimator = skops_io.load(path, trusted=untrusted)
    return SklearnModel(estimator, names(info, "feature_names", NAME))


def unsafe_types() -> frozenset[str]:
    """:data:`UNSAFE_TYPES` and whatever the installed skops documents as unsafe."""
    try:
        from skops.io.exceptions import UNTRUSTED_TYPE_REASONS
    except ImportError:  # an older skops: Keel's own list stands
        return UNSAFE_TYPES
    return UNSAFE_TYPES | frozenset(UNTRUSTED_TYPE_REASONS)


class SklearnModel:
    def __init__(self, estimator: Any, feature_names: list[str] | None) -> None:
        self.estimator = estimator
        self.feature_names = feature_names

    def predict(self, data: Any) -> Any:
        return self.estimator.predict(as_features(data, self.feature_names))

    @property
    def classes_(self) -> Any:
        """The class labels of a classifier that gives probabilities, else None (as the
        ONNX copy's ``classes_``: the columns of :meth:`predict_proba`)."""
        if not hasattr(self.estimator, "predict_proba"):
            return None
        return getattr(self.estimator, "classes_", None)

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities, columns in ``classes_`` order (classifiers only)."""
        return self.estimator.predict_proba(as_features(data, self.feature_names))


def native(model: SklearnModel, folder: Path, info: Mapping[str, Any]) -> Any:
    """The fitted estimator or pipeline, as it was logged (``keel.sklearn.load_model``)."""
    return model.estimator

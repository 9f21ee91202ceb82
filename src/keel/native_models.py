"""What ``keel.sklearn``, ``keel.xgboost``, ``keel.lightgbm``, ``keel.pytorch``,
``keel.onnx`` and ``keel.pyfunc`` share: logging, saving and loading a model of one flavor,
with MLflow's keywords, and loading it back as the library's own object.

``load_native`` goes through the same checks as ``keel.load_model`` (every file against its
digest, a ``models:/`` package against the digest recorded at registration, pickles only
with trust) and then hands back what the flavor wrapped: the fitted estimator, the Booster,
the module. ``keel.load_model`` keeps returning the checked, signature-enforcing wrapper.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.models import LoadedModel, ModelManifest
    from keel.models.logged import LoggedModel


def log_model(flavor: str, model: Any, name: str | None, options: Mapping[str, Any]) -> LoggedModel:
    """Log ``model`` to the active run (started if there is none) in ``flavor``."""
    import keel  # the public API: nothing but keel/__init__.py imports the fluent module
    from keel.models.log_options import LogOptions

    LogOptions.parse(name, options, fixed={"flavor": flavor})  # refuses before any write
    return keel.log_model(model, name, flavor=flavor, **options)


def save_model(
    flavor: str, model: Any, path: str | os.PathLike[str], options: Mapping[str, Any]
) -> ModelManifest:
    """Write ``model`` as a package folder at ``path`` in ``flavor``."""
    from keel.models import save_model as save
    from keel.models.log_options import save_options

    return save(model, path, **save_options(options, fixed={"flavor": flavor}))


def load_checked(flavor: str, model_uri: str, *, trust: bool) -> LoadedModel:
    """The package at ``model_uri`` (``models:/``, ``runs:/`` or a folder), loaded through
    ``flavor`` (not its ONNX copy) with every check of ``keel.load_model``."""
    import keel.models

    if not isinstance(model_uri, str | os.PathLike):
        raise keel.errors.InvalidArgument(
            f"model_uri: must be a models:/ or runs:/ URI or a folder, got "
            f"{type(model_uri).__name__}"
        )
    return keel.models.load(os.fspath(model_uri), trust=trust, flavor=flavor)


def load_native(flavor: str, model_uri: str, *, trust: bool) -> Any:
    """The library's own object for the package at ``model_uri``."""
    from keel.models.flavors import get_flavor

    loaded = load_checked(flavor, model_uri, trust=trust)
    info = loaded.manifest.flavors[flavor]
    return get_flavor(flavor).native(loaded.model, loaded.path, info)


def autolog(library: str, options: Mapping[str, Any]) -> None:
    """``keel.autolog`` for ``library`` only."""
    from keel.autologging import autolog as enable
    from keel.errors import InvalidArgument

    if "libraries" in options:
        raise InvalidArgument(
            f"libraries: keel.{library}.autolog patches {library} only; "
            "use keel.autolog(libraries=...) to choose several"
        )
    enable(**{**options, "libraries": (library,)})

"""The keywords ``log_model`` takes: Keel's own and MLflow's, checked in one place.

An MLflow user writes ``log_model(model, artifact_path="model", registered_model_name="m",
pip_requirements=[...])``; Keel reads each as its own option, and an unknown keyword is
refused by name with the accepted ones listed, before anything is written.

>>> options = LogOptions.parse(None, {"artifact_path": "clf", "pip_requirements": ["x==1"]})
>>> options.name, options.save
('clf', {'requirements': ['x==1']})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.errors import InvalidArgument

SAVE_OPTIONS = (
    "flavor",
    "signature",
    "input_example",
    "requirements",
    "extra_requirements",
    "serialization",
    "metadata",
    "onnx",
)
"""Passed on to :func:`keel.models.save_model` as they are."""

ALIASES = {"pip_requirements": "requirements", "extra_pip_requirements": "extra_requirements"}
"""MLflow's names for save options."""

ACCEPTED = ("name", "artifact_path", "registered_model_name", *SAVE_OPTIONS, *ALIASES)
DEFAULT_NAME = "model"


@dataclass(frozen=True, slots=True)
class LogOptions:
    name: str
    """The folder of the run's artifacts the package goes to."""
    registered_model_name: str | None = None
    save: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        name: str | None,
        options: Mapping[str, Any],
        *,
        fixed: Mapping[str, Any] | None = None,
    ) -> LogOptions:
        """Read ``options`` (keywords of a ``log_model`` call); ``fixed`` are set by the
        caller itself (``keel.sklearn`` fixes ``flavor``) and may not be given again."""
        fixed = dict(fixed or {})
        accepted = [key for key in ACCEPTED if key not in fixed]
        unknown = sorted(key for key in options if key not in accepted)
        if unknown:
            listed = ", ".join(repr(key) for key in unknown)
            raise InvalidArgument(
                f"log_model: unknown keyword{'s' if len(unknown) > 1 else ''} {listed}; "
                f"accepted: {', '.join(accepted)}"
            )
        rest = dict(options)
        alias = rest.pop("artifact_path", None)
        name = _name(name, rest.pop("name", None), alias)
        registered = rest.pop("registered_model_name", None)
        if registered is not None and (not isinstance(registered, str) or not registered):
            raise InvalidArgument("registered_model_name: must be a non-empty string")
        return cls(name=name, registered_model_name=registered, save={**_save(rest), **fixed})


def save_options(
    options: Mapping[str, Any], *, fixed: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The keywords of a ``save_model`` call (no name, no registration) as
    :func:`keel.models.save_model` takes them; unknown ones refused by name."""
    fixed = dict(fixed or {})
    accepted = [key for key in (*SAVE_OPTIONS, *ALIASES) if key not in fixed]
    unknown = sorted(key for key in options if key not in accepted)
    if unknown:
        listed = ", ".join(repr(key) for key in unknown)
        raise InvalidArgument(
            f"save_model: unknown keyword{'s' if len(unknown) > 1 else ''} {listed}; "
            f"accepted: {', '.join(accepted)}"
        )
    return {**_save(options), **fixed}


def _save(options: Mapping[str, Any]) -> dict[str, Any]:
    save: dict[str, Any] = {}
    for key, value in options.items():
        target = ALIASES.get(key, key)
        if target in save:
            other = next(k for k in options if ALIASES.get(k, k) == target and k != key)
            raise InvalidArgument(f"{key}: give it or {other}, not both (they are the same option)")
        save[target] = value
    return save


def _name(positional: str | None, keyword: str | None, alias: str | None) -> str:
    given = [value for value in (positional, keyword) if value is not None]
    if len(given) > 1:
        raise InvalidArgument("name: given twice (positionally and as name=)")
    name = given[0] if given else None
    if name is not None and alias is not None and name != alias:
        raise InvalidArgument(
            f"artifact_path: an alias of name (MLflow's older spelling); got name={name!r} "
            f"and artifact_path={alias!r}: give one"
        )
    chosen = name if name is not None else alias
    if chosen is None:
        return DEFAULT_NAME
    if not isinstance(chosen, str):
        raise InvalidArgument(f"name: must be a string, got {type(chosen).__name__}")
    return chosen

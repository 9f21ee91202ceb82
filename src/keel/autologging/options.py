"""What ``keel.autolog`` is told to log, checked once when it is called."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from keel.errors import InvalidArgument

LIBRARIES = ("sklearn", "xgboost", "lightgbm")
"""The libraries autolog knows, in the order they are patched."""


@dataclass(frozen=True, slots=True)
class AutologOptions:
    log_models: bool = True
    """Log the fitted model (a search's refit best estimator) as a Keel model package."""
    log_input_examples: bool = True
    """Save the first rows of the training data with the model (and infer its signature,
    inputs and outputs, from them)."""
    log_model_signatures: bool = True
    """Record the model's signature (inputs and outputs) when there is an example."""
    log_datasets: bool = True
    """Tag the run with the training data's fingerprint (``keel.dataset.*``)."""
    max_tuning_runs: int | None = 5
    """Child runs a hyperparameter search logs, best-ranked first; None: one per candidate."""
    silent: bool = False
    """Say nothing (no warnings) when something cannot be logged."""
    registered_model_name: str | None = None
    """Register each logged model as the next version of this registered model."""
    extra_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags set on the runs autolog starts (its own runs and a search's child runs)."""


def check_libraries(libraries: Sequence[str] | None) -> tuple[str, ...]:
    """The libraries named (all of them for None), checked: a clear error for a typo."""
    if libraries is None:
        return LIBRARIES
    if isinstance(libraries, str) or not isinstance(libraries, Sequence):
        raise InvalidArgument(
            f"libraries: must be a list of library names such as ('sklearn',), got {libraries!r}"
        )
    unknown = [name for name in libraries if name not in LIBRARIES]
    if unknown:
        raise InvalidArgument(
            f"libraries: unknown {', '.join(map(repr, unknown))}; "
            f"choose among {', '.join(LIBRARIES)}"
        )
    return tuple(dict.fromkeys(libraries))


def check_options(
    *,
    log_models: object,
    log_input_examples: object,
    log_model_signatures: object,
    log_datasets: object,
    max_tuning_runs: object,
    silent: object,
    registered_model_name: object = None,
    extra_tags: object = None,
) -> AutologOptions:
    flags = {
        "log_models": log_models,
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_datasets": log_datasets,
        "silent": silent,
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}: must be True or False, got {value!r}")
    if max_tuning_runs is not None and (
        isinstance(max_tuning_runs, bool)
        or not isinstance(max_tuning_runs, int)
        or max_tuning_runs < 0
    ):
        raise InvalidArgument(
            f"max_tuning_runs: must be a whole number >= 0 or None (every candidate), "
            f"got {max_tuning_runs!r}"
        )
    if registered_model_name is not None and (
        not isinstance(registered_model_name, str) or not registered_model_name.strip()
    ):
        raise InvalidArgument(
            f"registered_model_name: must be a non-empty string or None, "
            f"got {registered_model_name!r}"
        )
    if extra_tags is None:
        extra_tags = {}
    if not isinstance(extra_tags, Mapping) or not all(isinstance(k, str) for k in extra_tags):
        raise InvalidArgument(
            f"extra_tags: must be a mapping of tag names to values, got {extra_tags!r}"
        )
    return AutologOptions(
        max_tuning_runs=max_tuning_runs,
        registered_model_name=registered_model_name,
        extra_tags={key: str(value) for key, value in extra_tags.items()},
        **flags,  # type: ignore[arg-type]
    )

"""Deployments: a name that callers send predictions to, and the traffic policy that says
which model versions answer them.

A policy has one or more *live* targets whose weights (whole percents) add up to 100, and
any number of *shadow* targets that get a copy of every request (their answers are logged,
never returned). ``sticky_key`` names a request header whose value picks the live target
by hash (A/B tests: the same key always meets the same version); without it each request
draws by weight. ``sampling`` is the share of predictions written to the prediction log.

>>> policy = TrafficPolicy((Target("models:/fraud/3", 90), Target("models:/fraud/4", 10)))
>>> [t.model_uri for t in policy.live]
['models:/fraud/3', 'models:/fraud/4']

A deployment's name is a Kubernetes object name (DNS-1123 label): it becomes a path
segment of the prediction log, a container image name and a Service name, unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keel.errors import Conflict, InvalidArgument
from keel.uri import parse_model_uri

MAX_TARGETS = 10
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")


def check_deployment_name(value: object, field: str = "deployment name") -> str:
    """1 to 63 lowercase letters, digits and '-', starting and ending with a letter or
    digit (a DNS-1123 label, as Kubernetes names are)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(value).__name__}")
    if not _NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value!r}: must be 1 to 63 lowercase letters, digits and '-', starting "
            "and ending with a letter or digit (a Kubernetes name: it is also a path, an "
            "image and a Service name)"
        )
    return value


@dataclass(frozen=True, slots=True)
class Target:
    """One model a deployment sends traffic to: ``models:/name/3`` (pinned) or
    ``models:/name@alias`` (follows the alias; a server reloads when it moves)."""

    model_uri: str
    weight: int = 100
    """Percent of live traffic, 0 to 100; a shadow target's is 0."""
    shadow: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model_uri, str) or not self.model_uri.startswith("models:/"):
            raise InvalidArgument(
                f"target model {self.model_uri!r}: must be a registered model, "
                "models:/<name>/<version> or models:/<name>@<alias>"
            )
        parse_model_uri(self.model_uri)
        if isinstance(self.weight, bool) or not isinstance(self.weight, int):
            raise InvalidArgument(f"target {self.model_uri} weight: must be a whole percent")
        if not 0 <= self.weight <= 100:
            raise InvalidArgument(
                f"target {self.model_uri} weight: must be between 0 and 100, got {self.weight}"
            )
        if self.shadow and self.weight:
            raise InvalidArgument(
                f"target {self.model_uri}: a shadow target takes no live traffic (weight 0), "
                f"got weight {self.weight}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"model_uri": self.model_uri, "weight": self.weight, "shadow": self.shadow}

    @classmethod
    def from_dict(cls, raw: object) -> Target:
        if not isinstance(raw, dict):
            raise InvalidArgument(f"target: must be an object, got {type(raw).__name__}")
        unknown = set(raw) - {"model_uri", "weight", "shadow"}
        if unknown:
            raise InvalidArgument(
                f"target: unknown field(s) {', '.join(sorted(unknown))}; "
                "known: model_uri, weight, shadow"
            )
        shadow = raw.get("shadow", False)
        if not isinstance(shadow, bool):
            raise InvalidArgument("target shadow: must be true or false")
        return cls(raw.get("model_uri"), raw.get("weight", 0 if shadow else 100), shadow)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TrafficPolicy:
    targets: tuple[Target, ...]
    sticky_key: str | None = None
    """A request header (``X-User-Id``) whose value picks the live target by hash."""
    sampling: float = 1.0
    """Share of predictions written to the prediction log, 0 to 1."""

    def __post_init__(self) -> None:
        targets = tuple(self.targets)
        object.__setattr__(self, "targets", targets)
        if not targets:
            raise InvalidArgument("traffic: needs at least one target")
        if len(targets) > MAX_TARGETS:
            raise InvalidArgument(f"traffic: at most {MAX_TARGETS} targets, got {len(targets)}")
        uris = [t.model_uri for t in targets]
        repeated = sorted({u for u in uris if uris.count(u) > 1})
        if repeated:
            raise InvalidArgument(f"traffic: each model once, {', '.join(repeated)} repeated")
        live = [t for t in targets if not t.shadow]
        if not live:
            raise InvalidArgument("traffic: needs at least one live (non-shadow) target")
        total = sum(t.weight for t in live)
        if total != 100:
            shares = ", ".join(f"{t.model_uri}={t.weight}" for t in live)
            raise InvalidArgument(
                f"traffic: live weights must add up to 100, got {total} ({shares})"
            )
        if self.sticky_key is not None and not _HEADER.fullmatch(self.sticky_key):
            raise InvalidArgument(
                f"traffic sticky_key {self.sticky_key!r}: must be a header name "
                "(1 to 64 letters, digits and '-')"
            )
        if (
            isinstance(self.sampling, bool)
            or not isinstance(self.sampling, int | float)
            or not 0.0 <= self.sampling <= 1.0
        ):
            raise InvalidArgument(
                f"traffic sampling: must be between 0 and 1, got {self.sampling!r}"
            )

    @property
    def live(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if not t.shadow)

    @property
    def shadows(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.shadow)

    @classmethod
    def single(cls, model_uri: str, *, sampling: float = 1.0) -> TrafficPolicy:
        return cls((Target(model_uri, 100),), sampling=sampling)

    def to_dict(self) -> dict[str, Any]:
        return {
            "targets": [t.to_dict() for t in self.targets],
            "sticky_key": self.sticky_key,
            "sampling": self.sampling,
        }

    @classmethod
    def from_dict(cls, raw: object) -> TrafficPolicy:
        if not isinstance(raw, dict):
            raise InvalidArgument(f"traffic: must be an object, got {type(raw).__name__}")
        unknown = set(raw) - {"targets", "sticky_key", "sampling"}
        if unknown:
            raise InvalidArgument(
                f"traffic: unknown field(s) {', '.join(sorted(unknown))}; "
                "known: targets, sticky_key, sampling"
            )
        targets = raw.get("targets")
        if not isinstance(targets, list):
            raise InvalidArgument("traffic targets: must be a list of targets")
        return cls(
            tuple(Target.from_dict(t) for t in targets),
            sticky_key=raw.get("sticky_key"),
            sampling=raw.get("sampling", 1.0),
        )


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment as stored: ``revision`` grows by one at every change of its policy;
    model servers poll it and switch without dropping a request."""

    name: str
    policy: TrafficPolicy
    revision: int = 1
    description: str = ""
    created_at: int = 0
    """Milliseconds since the epoch, as every Keel time."""
    updated_at: int = 0
    created_by: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "policy": self.policy.to_dict(),
            "revision": self.revision,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
            "tags": dict(self.tags),
        }


class DeploymentAction(StrEnum):
    """What made a revision of a deployment's policy."""

    CREATE = "create"
    TRAFFIC = "traffic"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class DeploymentRevision:
    """One revision of a deployment's policy, as it was set: history and rollback read
    these, so a rollback restores exactly what was there."""

    name: str
    revision: int
    policy: TrafficPolicy
    action: DeploymentAction
    actor: str
    at: int
    """Milliseconds since the epoch."""
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "revision": self.revision,
            "policy": self.policy.to_dict(),
            "action": self.action.value,
            "actor": self.actor,
            "at": self.at,
            "request_id": self.request_id,
        }


def check_revision(value: object, field: str = "expected_revision") -> int:
    """A revision number: a whole number from 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{field}: must be a whole number from 1, got {value!r}")
    return value


def weighted_policy(
    weights: dict[str, int],
    *,
    shadows: list[str] | tuple[str, ...] = (),
    sticky_key: str | None = None,
    sampling: float = 1.0,
) -> TrafficPolicy:
    """A policy from ``{model_uri: weight}`` and shadow model URIs, in the order given.

    >>> weighted_policy({"models:/fraud/3": 90, "models:/fraud/4": 10}).live[1].weight
    10
    """
    if not isinstance(weights, dict) or not weights:
        raise InvalidArgument("traffic: give at least one model with its weight ({uri: percent})")
    targets = [Target(uri, weight) for uri, weight in weights.items()]
    targets += [Target(uri, 0, shadow=True) for uri in shadows]
    return TrafficPolicy(tuple(targets), sticky_key=sticky_key, sampling=sampling)


def canary_of(policy: TrafficPolicy, name: str = "deployment") -> Target:
    """The live target that is not the largest: the one a plain promote moves to 100%.
    Exactly two live targets with different weights have one; one live target is
    promoted already (``Conflict``); otherwise the caller must name the model."""
    live = policy.live
    if len(live) == 1:
        raise Conflict(
            f"{name}: {live[0].model_uri} takes all live traffic already; nothing to promote"
        )
    if len(live) != 2 or live[0].weight == live[1].weight:
        shares = ", ".join(f"{t.model_uri}={t.weight}" for t in live)
        raise InvalidArgument(
            f"{name}: no single canary to promote among its live targets ({shares}); "
            "name the model to promote"
        )
    return min(live, key=lambda t: t.weight)


def promoted(
    policy: TrafficPolicy, model_uri: str | None = None, name: str = "deployment"
) -> TrafficPolicy:
    """``model_uri`` (a live or shadow target; default: the canary) takes 100% of live
    traffic; the other live targets go, shadows stay, sticky key and sampling are kept."""
    if model_uri is None:
        chosen = canary_of(policy, name).model_uri
    else:
        known = [t.model_uri for t in policy.targets]
        if model_uri not in known:
            raise InvalidArgument(
                f"{name}: model {model_uri!r} is not one of its targets ({', '.join(known)}); "
                "promote one of them, or set the traffic to a new model"
            )
        chosen = model_uri
    live = policy.live
    if len(live) == 1 and live[0].model_uri == chosen:
        raise Conflict(f"{name}: {chosen} takes all live traffic already; nothing to promote")
    shadows = tuple(t for t in policy.shadows if t.model_uri != chosen)
    return TrafficPolicy(
        (Target(chosen, 100), *shadows), sticky_key=policy.sticky_key, sampling=policy.sampling
    )

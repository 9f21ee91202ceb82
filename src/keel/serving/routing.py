"""Which loaded model version answers a request: the deployment's traffic policy over the
versions the host has loaded.

Live targets draw by weight; with a ``sticky_key`` header the value of that header picks
the target by hash (CRC-32, the same in every replica and every restart), so one user
keeps meeting one version while the weights hold. Shadow targets get a copy of each
request; their answers are logged, never returned.

>>> bucket("user-42") == bucket("user-42")
True
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.entities.deployment import TrafficPolicy
    from keel.serving.served import ServedModel

_UNSAFE = re.compile(r"[^a-z0-9-]+")


def bucket(key: str) -> int:
    """0 to 99, from ``key`` alone."""
    return zlib.crc32(key.encode("utf-8")) % 100


def log_name_for_model(name: str) -> str:
    """The deployment name a bare ``keel serve models:/<name>...`` logs under:
    ``model-<name>``, lowercased, anything but letters, digits and '-' made '-'.

    >>> log_name_for_model("Fraud_Detector v2")
    'model-fraud-detector-v2'
    """
    cleaned = _UNSAFE.sub("-", name.lower()).strip("-")[:56].strip("-")
    return f"model-{cleaned or 'model'}"


@dataclass(frozen=True, slots=True)
class Routing:
    """One consistent view of what answers requests; replaced whole, never changed, so a
    request that picked from it finishes on what it picked."""

    deployment: str
    """The name predictions are logged under."""
    revision: int | None
    policy: TrafficPolicy
    live: tuple[tuple[int, ServedModel], ...]
    """(cumulative weight bound, model) in policy order; the last bound is 100."""
    shadows: tuple[ServedModel, ...]
    sampling: float

    @classmethod
    def build(
        cls,
        deployment: str,
        revision: int | None,
        policy: TrafficPolicy,
        models: Mapping[str, ServedModel],
        sampling: float,
    ) -> Routing:
        """``models``: target model URI -> the version loaded for it."""
        live: list[tuple[int, ServedModel]] = []
        bound = 0
        for target in policy.live:
            if target.weight == 0:
                continue
            bound += target.weight
            live.append((bound, models[target.model_uri]))
        shadows = tuple(models[t.model_uri] for t in policy.shadows)
        return cls(deployment, revision, policy, tuple(live), shadows, sampling)

    def pick(self, sticky: str | None) -> ServedModel:
        live = self.live
        if len(live) == 1:
            return live[0][1]
        draw = bucket(sticky) if sticky is not None else random.random() * 100
        for bound, model in live:
            if draw < bound:
                return model
        return live[-1][1]

    @property
    def sticky_header(self) -> str | None:
        key = self.policy.sticky_key
        return key.lower() if key else None

    def models(self) -> list[ServedModel]:
        """Every version this view serves, live first, each once."""
        seen: dict[int, ServedModel] = {}
        for _, model in self.live:
            seen.setdefault(id(model), model)
        for model in self.shadows:
            seen.setdefault(id(model), model)
        return list(seen.values())

    def find(self, name: str, version: int | None) -> ServedModel | None:
        """The served version ``name`` (and ``version``, else the first live one of that
        name), for the Open Inference Protocol's model paths."""
        for model in self.models():
            if model.name == name and (version is None or model.version == version):
                return model
        return None

"""Routing over a traffic policy, without a server: weights drawn, sticky keys stable,
shadows apart, the log name of a bare model."""

from __future__ import annotations

from collections import Counter
from typing import Any

from keel.entities.deployment import Target, TrafficPolicy
from keel.serving.routing import Routing, bucket, log_name_for_model


class Model:
    def __init__(self, name: str, version: int) -> None:
        self.name, self.version = name, version


def _routing(policy: TrafficPolicy) -> tuple[Routing, dict[str, Any]]:
    models = {t.model_uri: Model("m", int(t.model_uri.rsplit("/", 1)[1])) for t in policy.targets}
    return Routing.build("dep", 3, policy, models, policy.sampling), models  # type: ignore[arg-type]


def test_weights_are_drawn_in_proportion() -> None:
    policy = TrafficPolicy((Target("models:/m/1", 90), Target("models:/m/2", 10)))
    routing, _ = _routing(policy)
    counts = Counter(routing.pick(None).version for _ in range(20_000))
    assert 0.08 < counts[2] / 20_000 < 0.12


def test_a_sticky_key_always_meets_the_same_version() -> None:
    policy = TrafficPolicy(
        (Target("models:/m/1", 50), Target("models:/m/2", 50)), sticky_key="X-User"
    )
    routing, _ = _routing(policy)
    assert routing.sticky_header == "x-user"
    picks = {key: routing.pick(key).version for key in (f"u{i}" for i in range(200))}
    assert all(routing.pick(key).version == version for key, version in picks.items())
    assert set(picks.values()) == {1, 2}
    assert bucket("u1") == bucket("u1") and 0 <= bucket("anything") < 100


def test_shadows_are_not_live_and_zero_weights_never_answer() -> None:
    policy = TrafficPolicy(
        (
            Target("models:/m/1", 100),
            Target("models:/m/2", 0),
            Target("models:/m/3", 0, shadow=True),
        )
    )
    routing, models = _routing(policy)
    assert {routing.pick(None).version for _ in range(500)} == {1}
    assert routing.shadows == (models["models:/m/3"],)
    assert routing.find("m", 3) is models["models:/m/3"]
    assert routing.find("m", 7) is None and routing.find("other", None) is None


def test_log_name_of_a_bare_model() -> None:
    assert log_name_for_model("Fraud_Detector v2") == "model-fraud-detector-v2"
    assert log_name_for_model("___") == "model-model"

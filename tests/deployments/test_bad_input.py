"""Every bad input to the deployment client, on every store: refused with a message that
names the field and the rule, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import unique
from deployments.conftest import Models
from keel.client import Client
from keel.entities.deployment import Target, TrafficPolicy
from keel.errors import Conflict, InvalidArgument, KeelError, NotFound


def test_bad_calls(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    one = TrafficPolicy.single(models.uri(1))
    cases: list[tuple[Callable[[], object], type[KeelError], str]] = [
        (lambda: d.create(unique("dep")), InvalidArgument, "give either model_uri or policy"),
        (
            lambda: d.create(unique("dep"), models.uri(1), policy=one),
            InvalidArgument,
            "give either model_uri or policy",
        ),
        (lambda: d.create(unique("dep"), "fraud"), InvalidArgument, "must be a registered model"),
        (
            lambda: d.create(unique("dep"), models.uri(1), project="no-such-project"),
            NotFound,
            "project 'no-such-project': no such project",
        ),
        (
            lambda: d.create(unique("dep"), models.uri(1), tags={"/abs": "x"}),
            InvalidArgument,
            "tag key",
        ),
        (
            lambda: d.create(unique("dep"), models.uri(1), description="\x00"),
            InvalidArgument,
            "description: must not contain NUL",
        ),
        (
            lambda: d.set_traffic(name, one, shadows=[models.uri(2)]),
            InvalidArgument,
            "give shadows, sticky_key and sampling in the policy itself",
        ),
        (
            lambda: d.set_traffic(name, [models.uri(1)]),  # type: ignore[arg-type]
            InvalidArgument,
            "must be a TrafficPolicy or {model_uri: weight}",
        ),
        (
            lambda: d.set_traffic(name, {models.uri(1): 100}, expected_revision=0),
            InvalidArgument,
            "expected_revision: must be a whole number from 1, got 0",
        ),
        (
            lambda: d.set_traffic(name, {models.uri(1): 100}, expected_revision=True),  # type: ignore[arg-type]
            InvalidArgument,
            "expected_revision",
        ),
        (
            lambda: d.set_traffic("missing-" + name, {models.uri(1): 100}),
            NotFound,
            f"deployment 'missing-{name}': no such deployment",
        ),
        (lambda: d.promote(name, "not-a-uri"), InvalidArgument, "model URI 'not-a-uri'"),
        (lambda: d.promote(name, models.uri(2)), InvalidArgument, "is not one of its targets"),
        (lambda: d.promote(name), Conflict, "takes all live traffic already"),
        (lambda: d.rollback(name), Conflict, "no earlier policy to roll back to"),
        (lambda: d.rollback("missing-" + name), NotFound, "no such deployment"),
        (lambda: d.delete("Bad Name"), InvalidArgument, "lowercase letters"),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as caught:
            call()
        assert message in caught.value.message, caught.value.message
    assert d.get(name).revision == 1
    assert len(d.history(name)) == 1
    assert [x.name for x in d.list() if x.name == name] == [name]


def test_a_shadow_with_weight_and_too_many_targets(client: Client, models: Models) -> None:
    with pytest.raises(InvalidArgument, match="a shadow target takes no live traffic"):
        Target(models.uri(2), 10, shadow=True)
    many = {f"models:/{models.name}/{i}": 0 for i in range(1, 11)}
    many[models.uri(1)] = 100
    with pytest.raises(InvalidArgument, match="at most 10 targets, got 11"):
        client.deployments.create(
            unique("dep"), policy=TrafficPolicy((*(Target(u, w) for u, w in many.items()),
                                                 Target(models.uri("champion"), 0)))
        )  # fmt: skip

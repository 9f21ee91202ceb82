"""The policy rules as plain functions (no store): what promote, the canary and a
weighted policy mean, and the policy's own checks."""

from __future__ import annotations

import pytest

from keel.entities.deployment import (
    Target,
    TrafficPolicy,
    canary_of,
    check_revision,
    promoted,
    weighted_policy,
)
from keel.errors import Conflict, InvalidArgument

A, B, C, D = (f"models:/fraud/{i}" for i in range(1, 5))


def test_weighted_policy_keeps_the_order_given() -> None:
    policy = weighted_policy({A: 70, B: 30}, shadows=[C], sticky_key="X-User", sampling=0.2)
    assert policy.targets == (Target(A, 70), Target(B, 30), Target(C, 0, shadow=True))
    assert (policy.sticky_key, policy.sampling) == ("X-User", 0.2)


def test_the_canary_is_the_smaller_of_two() -> None:
    assert canary_of(weighted_policy({A: 90, B: 10})).model_uri == B
    assert canary_of(weighted_policy({A: 5, B: 95})).model_uri == A
    for ambiguous in ({A: 50, B: 50}, {A: 50, B: 25, C: 25}):
        with pytest.raises(InvalidArgument, match="no single canary"):
            canary_of(weighted_policy(ambiguous))
    with pytest.raises(Conflict, match=f"{A} takes all live traffic already"):
        canary_of(weighted_policy({A: 100}))


def test_promote_keeps_shadows_sticky_key_and_sampling() -> None:
    policy = weighted_policy({A: 90, B: 10}, shadows=[C, D], sticky_key="K", sampling=0.5)
    assert promoted(policy) == TrafficPolicy(
        (Target(B, 100), Target(C, 0, True), Target(D, 0, True)), sticky_key="K", sampling=0.5
    )
    assert promoted(policy, A).live == (Target(A, 100),)
    shadow_up = promoted(policy, D)
    assert shadow_up.live == (Target(D, 100),) and shadow_up.shadows == (Target(C, 0, True),)


def test_promote_refuses_what_it_cannot_mean() -> None:
    single = TrafficPolicy.single(A)
    with pytest.raises(Conflict, match="takes all live traffic already"):
        promoted(single, A)
    with pytest.raises(InvalidArgument, match=f"model {B!r} is not one of its targets"):
        promoted(single, B)


@pytest.mark.parametrize("bad", [0, -1, True, 1.0, "2", None])
def test_a_revision_is_a_whole_number_from_one(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="expected_revision: must be a whole number"):
        check_revision(bad)
    assert check_revision(3) == 3


def test_policies_round_trip_through_their_dicts() -> None:
    policy = weighted_policy({A: 60, B: 40}, shadows=[C], sticky_key="X-A", sampling=0.1)
    assert TrafficPolicy.from_dict(policy.to_dict()) == policy
    with pytest.raises(InvalidArgument, match="unknown field"):
        TrafficPolicy.from_dict({**policy.to_dict(), "extra": 1})

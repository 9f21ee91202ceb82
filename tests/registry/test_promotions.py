"""Promotion requests: one user proposes a version for an alias, another decides."""

from __future__ import annotations

import pytest

from conftest import unique
from keel.entities.registry import ModelVersionStatus, PromotionState
from keel.errors import AlreadyExists, Conflict, Forbidden, InvalidArgument, NotFound
from keel.store import RegistryStore
from registry.support import CI, OWNER, REVIEWER, audit_actions, new_version


@pytest.fixture
def two(registry: RegistryStore, model: str, source: str) -> str:
    """``model`` with versions 1 and 2, ``champion`` on version 1."""
    new_version(registry, model, source)
    new_version(registry, model, source)
    registry.set_alias(model, "champion", 1, actor=OWNER)
    return model


def test_the_requester_cannot_decide_their_own_request(registry: RegistryStore, two: str) -> None:
    request = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    assert (request.state, request.requested_by, request.reviewer) == (
        PromotionState.OPEN,
        OWNER,
        None,
    )
    for approve in (True, False):
        with pytest.raises(Forbidden, match="another user must decide it"):
            registry.decide_promotion_request(request.id, approve=approve, reviewer=OWNER)
    assert registry.get_promotion_request(request.id) == request
    assert registry.get_model_version_by_alias(two, "champion").version == 1
    assert registry.get_model_version(two, 2).status is ModelVersionStatus.PENDING_REVIEW


def test_approval_moves_the_alias_and_approves_the_version(
    registry: RegistryStore, two: str
) -> None:
    request = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    decided = registry.decide_promotion_request(
        request.id, approve=True, reviewer=REVIEWER, comment="AUC up 2 points"
    )
    assert decided.state is PromotionState.APPROVED
    assert (decided.reviewer, decided.comment) == (REVIEWER, "AUC up 2 points")
    assert decided.decided is not None and decided.decided >= decided.created
    assert registry.get_model_version_by_alias(two, "champion").version == 2
    assert registry.get_model_version(two, 2).status is ModelVersionStatus.APPROVED

    records = registry.list_audit(two).records
    tail = [(a.action.value, a.actor, a.version, a.alias, a.before, a.after) for a in records[-4:]]
    assert tail == [
        ("promotion.request", OWNER, 2, "champion", None, {"request": request.id, "state": "OPEN"}),
        ("version.update", REVIEWER, 2, None, {"status": "PENDING_REVIEW"}, {"status": "APPROVED"}),
        ("alias.set", REVIEWER, 2, "champion", {"version": 1}, {"version": 2}),
        (
            "promotion.approve", REVIEWER, 2, "champion",
            {"request": request.id, "state": "OPEN"},
            {"request": request.id, "state": "APPROVED", "comment": "AUC up 2 points"},
        ),
    ]  # fmt: skip
    with pytest.raises(Conflict, match="is APPROVED"):
        registry.decide_promotion_request(request.id, approve=False, reviewer=CI)


def test_rejection(registry: RegistryStore, two: str) -> None:
    request = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    decided = registry.decide_promotion_request(
        request.id, approve=False, reviewer=REVIEWER, comment="drift on segment B"
    )
    assert decided.state is PromotionState.REJECTED and decided.reviewer == REVIEWER
    assert registry.get_model_version(two, 2).status is ModelVersionStatus.REJECTED
    assert registry.get_model_version_by_alias(two, "champion").version == 1
    assert audit_actions(registry, two)[-2:] == ["version.update", "promotion.reject"]
    # A rejected version is resubmitted before it can be proposed again.
    with pytest.raises(Conflict, match="REJECTED"):
        registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    registry.update_model_version(two, 2, status="PENDING_REVIEW", actor=OWNER)
    again = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    assert again.id != request.id and again.state is PromotionState.OPEN


def test_rejecting_one_more_alias_keeps_an_approval(registry: RegistryStore, two: str) -> None:
    first = registry.create_promotion_request(two, 2, "staging", actor=OWNER)
    registry.decide_promotion_request(first.id, approve=True, reviewer=REVIEWER)
    second = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    registry.decide_promotion_request(second.id, approve=False, reviewer=REVIEWER)
    version = registry.get_model_version(two, 2)
    assert version.status is ModelVersionStatus.APPROVED and version.aliases == ["staging"]


def test_approval_respects_the_alias_policy(registry: RegistryStore, two: str) -> None:
    # champion holds version 1, unreviewed: guarding it waits for a review of it.
    with pytest.raises(Conflict, match="points at version 1, which is PENDING_REVIEW"):
        registry.set_alias_policy(two, "champion", ["accuracy"], actor=OWNER)
    first = registry.create_promotion_request(two, 1, "champion", actor=OWNER)
    registry.decide_promotion_request(first.id, approve=True, reviewer=REVIEWER)
    registry.set_alias_policy(two, "champion", ["accuracy"], actor=OWNER)
    request = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    before = audit_actions(registry, two)
    with pytest.raises(Conflict, match=r"accuracy \(missing\)"):
        registry.decide_promotion_request(request.id, approve=True, reviewer=REVIEWER)
    # Nothing changed: still OPEN, alias and status as they were, nothing audited.
    assert registry.get_promotion_request(request.id).state is PromotionState.OPEN
    assert registry.get_model_version_by_alias(two, "champion").version == 1
    assert registry.get_model_version(two, 2).status is ModelVersionStatus.PENDING_REVIEW
    assert audit_actions(registry, two) == before

    registry.record_check(two, 2, "accuracy", True, actor=CI)
    registry.decide_promotion_request(request.id, approve=True, reviewer=REVIEWER)
    assert registry.get_model_version_by_alias(two, "champion").version == 2


def test_cancel(registry: RegistryStore, two: str) -> None:
    request = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    with pytest.raises(Forbidden, match="may cancel it"):
        registry.cancel_promotion_request(request.id, actor=REVIEWER)
    cancelled = registry.cancel_promotion_request(request.id, actor=OWNER)
    assert cancelled.state is PromotionState.CANCELLED
    with pytest.raises(Conflict, match="is CANCELLED"):
        registry.decide_promotion_request(request.id, approve=True, reviewer=REVIEWER)
    with pytest.raises(Conflict, match="is CANCELLED"):
        registry.cancel_promotion_request(request.id, actor=OWNER)
    assert registry.get_model_version_by_alias(two, "champion").version == 1
    assert audit_actions(registry, two)[-1] == "promotion.cancel"


def test_requests_are_refused_when_they_cannot_stand(registry: RegistryStore, two: str) -> None:
    registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    with pytest.raises(AlreadyExists, match="already proposes version 2"):
        registry.create_promotion_request(two, 2, "champion", actor=REVIEWER)
    with pytest.raises(NotFound, match="no such version"):
        registry.create_promotion_request(two, 9, "champion", actor=OWNER)
    with pytest.raises(NotFound, match="no such model"):
        registry.create_promotion_request(unique("missing"), 1, "champion", actor=OWNER)
    with pytest.raises(InvalidArgument, match="alias"):
        registry.create_promotion_request(two, 2, "Champion!", actor=OWNER)
    with pytest.raises(NotFound, match="promotion request"):
        registry.get_promotion_request(2**31 - 1)
    with pytest.raises(NotFound, match="promotion request"):
        registry.decide_promotion_request(2**31 - 1, approve=True, reviewer=REVIEWER)
    with pytest.raises(InvalidArgument, match="reviewer"):
        registry.decide_promotion_request(1, approve=True, reviewer="")
    for bad in (0, 2**31, 2**63 - 1):
        with pytest.raises(InvalidArgument, match="request id"):
            registry.get_promotion_request(bad)


def test_list_by_model_and_state(registry: RegistryStore, two: str, source: str) -> None:
    new_version(registry, two, source)
    a = registry.create_promotion_request(two, 2, "champion", actor=OWNER)
    b = registry.create_promotion_request(two, 3, "staging", actor=OWNER)
    c = registry.create_promotion_request(two, 3, "champion", actor=OWNER)
    registry.decide_promotion_request(b.id, approve=True, reviewer=REVIEWER)
    registry.cancel_promotion_request(c.id, actor=OWNER)
    assert [r.id for r in registry.list_promotion_requests(two)] == [c.id, b.id, a.id]
    assert [r.id for r in registry.list_promotion_requests(two, state="OPEN")] == [a.id]
    approved = registry.list_promotion_requests(two, state=PromotionState.APPROVED)
    assert [r.id for r in approved] == [b.id]
    assert [r.id for r in registry.list_promotion_requests(two, max_results=1)] == [c.id]
    everywhere = registry.list_promotion_requests(state="CANCELLED", max_results=10_000)
    assert c.id in [r.id for r in everywhere]
    with pytest.raises(InvalidArgument, match="state"):
        registry.list_promotion_requests(two, state="DONE")

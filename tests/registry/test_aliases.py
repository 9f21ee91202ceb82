"""Aliases, the policies that guard them and the check results they require."""

from __future__ import annotations

import itertools
import threading

import pytest

from keel.entities.registry import ModelVersionStatus
from keel.errors import Conflict, Forbidden, InvalidArgument, NotFound
from keel.store import RegistryStore
from registry.support import CI, OWNER, REVIEWER, new_version
from store.support import assert_cases


@pytest.fixture
def three(registry: RegistryStore, model: str, source: str) -> str:
    """``model`` with versions 1, 2 and 3."""
    for _ in range(3):
        new_version(registry, model, source)
    return model


def test_set_move_and_delete(registry: RegistryStore, three: str) -> None:
    model = three
    registry.set_alias(model, "champion", 1, actor=OWNER)
    registry.set_alias(model, "challenger", 2, actor=OWNER)
    assert registry.get_model_version_by_alias(model, "champion").version == 1
    assert registry.get_registered_model(model).aliases == {"challenger": 2, "champion": 1}
    assert registry.get_model_version(model, 1).aliases == ["champion"]

    registry.set_alias(model, "champion", 3, actor=REVIEWER)  # a move, in one step
    registry.set_alias(model, "champion", 3, actor=REVIEWER)  # no change, no record
    assert registry.get_model_version_by_alias(model, "champion").version == 3
    assert registry.get_model_version(model, 1).aliases == []
    assert registry.get_model_version(model, 3).aliases == ["champion"]

    registry.delete_alias(model, "challenger", actor=OWNER)
    with pytest.raises(NotFound, match="alias 'challenger'"):
        registry.get_model_version_by_alias(model, "challenger")
    with pytest.raises(NotFound, match="alias 'challenger'"):
        registry.delete_alias(model, "challenger", actor=OWNER)
    assert registry.get_registered_model(model).aliases == {"champion": 3}

    trail = [
        (a.action.value, a.alias, a.actor, a.before, a.after)
        for a in registry.list_audit(model).records
        if a.action.value.startswith("alias.")
    ]
    assert trail == [
        ("alias.set", "champion", OWNER, {"version": None}, {"version": 1}),
        ("alias.set", "challenger", OWNER, {"version": None}, {"version": 2}),
        ("alias.set", "champion", REVIEWER, {"version": 1}, {"version": 3}),
        ("alias.delete", "challenger", OWNER, {"version": 2}, None),
    ]


def test_concurrent_moves_are_atomic_and_each_is_audited(
    registry: RegistryStore, three: str
) -> None:
    model = three
    registry.set_alias(model, "champion", 1, actor=OWNER)
    stop = threading.Event()
    misses: list[object] = []
    errors: list[BaseException] = []

    def read() -> None:
        # While the alias moves, it always resolves to one of the versions.
        while not stop.is_set():
            try:
                version = registry.get_model_version_by_alias(model, "champion").version
                if version not in (1, 2, 3):
                    misses.append(version)
            except BaseException as exc:
                misses.append(exc)

    def move(worker: int) -> None:
        for i in range(6):
            try:
                registry.set_alias(model, "champion", (worker + i) % 3 + 1, actor=f"w{worker}")
            except BaseException as exc:
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    movers = [threading.Thread(target=move, args=(w,)) for w in range(3)]
    for t in movers:
        t.start()
    for t in movers:
        t.join(120)
    stop.set()
    reader.join(30)
    assert errors == [] and misses == []

    moves = registry.list_audit(model, action="alias.set").records
    # Each recorded move starts where the one before it ended: none was lost or torn.
    for earlier, later in itertools.pairwise(moves):
        assert later.before == earlier.after, (earlier, later)
        assert later.before != later.after
    final = registry.get_model_version_by_alias(model, "champion").version
    assert moves[-1].after == {"version": final}


def test_alias_names(registry: RegistryStore, three: str) -> None:
    model = three
    for good in ("champion", "v2", "a-b_c", "0day", "x" * 64):
        registry.set_alias(model, good, 1, actor=OWNER)
        assert registry.get_model_version_by_alias(model, good).version == 1
    bad = {
        "": "must not be empty",
        "Champion": "lowercase",
        "12": "only digits",
        "a b": "lowercase",
        "a/b": "lowercase",
        "a@b": "lowercase",
        "a.b": "lowercase",
        "é": "lowercase",
        "x" * 65: "at most 64",
    }

    def check(alias: str) -> tuple[str, str]:
        with pytest.raises(InvalidArgument) as caught:
            registry.set_alias(model, alias, 1, actor=OWNER)
        message = str(caught.value)
        return ("ok" if "alias" in message and bad[alias] in message else message), "ok"

    assert_cases(check, bad)
    assert set(registry.get_registered_model(model).aliases) == {
        "champion", "v2", "a-b_c", "0day", "x" * 64,
    }  # fmt: skip


def test_archived_and_rejected_versions_take_no_alias(registry: RegistryStore, three: str) -> None:
    model = three
    registry.update_model_version(model, 2, status="ARCHIVED", actor=OWNER)
    with pytest.raises(Conflict, match="version 2 is ARCHIVED"):
        registry.set_alias(model, "champion", 2, actor=OWNER)
    request = registry.create_promotion_request(model, 3, "champion", actor=OWNER)
    registry.decide_promotion_request(request.id, approve=False, reviewer=REVIEWER)
    assert registry.get_model_version(model, 3).status is ModelVersionStatus.REJECTED
    with pytest.raises(Conflict, match="version 3 is REJECTED"):
        registry.set_alias(model, "champion", 3, actor=OWNER)
    assert registry.get_registered_model(model).aliases == {}


def _promote(registry: RegistryStore, model: str, version: int, alias: str) -> None:
    request = registry.create_promotion_request(model, version, alias, actor=OWNER)
    try:
        registry.decide_promotion_request(request.id, approve=True, reviewer=REVIEWER)
    except Exception:
        registry.cancel_promotion_request(request.id, actor=OWNER)
        raise


def test_a_guarded_alias_waits_for_its_checks(registry: RegistryStore, three: str) -> None:
    model = three
    policy = registry.set_alias_policy(
        model, "champion", ["fairness", "accuracy", "fairness"], actor=OWNER
    )
    assert policy.required_checks == ["accuracy", "fairness"]
    assert registry.get_alias_policies(model) == [policy]

    with pytest.raises(Conflict) as caught:
        _promote(registry, model, 2, "champion")
    assert "accuracy (missing), fairness (missing)" in str(caught.value)

    registry.record_check(model, 2, "accuracy", True, details={"auc": 0.93}, actor=CI)
    registry.record_check(model, 2, "fairness", False, details={"gap": 0.2}, actor=CI)
    registry.record_check(model, 1, "fairness", True, actor=CI)  # another version's pass
    with pytest.raises(Conflict) as caught:
        _promote(registry, model, 2, "champion")
    message = str(caught.value)
    assert "fairness (failed)" in message and "accuracy" not in message

    registry.record_check(model, 2, "fairness", True, actor=CI)  # the latest result counts
    _promote(registry, model, 2, "champion")
    assert registry.get_model_version_by_alias(model, "champion").version == 2

    # Other aliases are not guarded; a later failure stops the next move.
    registry.set_alias(model, "staging", 3, actor=OWNER)
    registry.record_check(model, 3, "accuracy", True, actor=CI)
    registry.record_check(model, 3, "fairness", True, actor=CI)
    registry.record_check(model, 3, "accuracy", False, actor=CI)
    with pytest.raises(Conflict, match=r"accuracy \(failed\)"):
        _promote(registry, model, 3, "champion")
    assert registry.get_model_version_by_alias(model, "champion").version == 2

    # Lifting the guard lets it move directly again, and the lifting is audited.
    lifted = registry.set_alias_policy(model, "champion", [], actor=OWNER)
    assert lifted.required_checks == [] and registry.get_alias_policies(model) == []
    registry.set_alias(model, "champion", 3, actor=OWNER)
    policies = registry.list_audit(model, action="alias_policy.set").records
    assert [(p.before, p.after, p.actor) for p in policies] == [
        ({"required_checks": []}, {"required_checks": ["accuracy", "fairness"]}, OWNER),
        ({"required_checks": ["accuracy", "fairness"]}, {"required_checks": []}, OWNER),
    ]


def test_a_guarded_alias_moves_only_through_an_approved_promotion(
    registry: RegistryStore, three: str
) -> None:
    """Fault 13 §1.1: recording the required check yourself and moving the alias is not a
    review. Neither set_alias nor delete_alias touches a guarded alias, whoever asks."""
    model = three
    registry.set_alias_policy(model, "champion", ["review"], actor=OWNER)
    registry.record_check(model, 2, "review", True, actor=OWNER)  # self-recorded
    with pytest.raises(Forbidden, match=r"guarded by a policy.*request a promotion"):
        registry.set_alias(model, "champion", 2, actor=OWNER)
    with pytest.raises(Forbidden, match="request a promotion"):
        registry.set_alias(model, "champion", 2, actor=REVIEWER)
    assert registry.get_registered_model(model).aliases == {}
    assert registry.get_model_version(model, 2).status is ModelVersionStatus.PENDING_REVIEW

    _promote(registry, model, 2, "champion")
    found = registry.get_model_version_by_alias(model, "champion")
    # Never a PENDING_REVIEW version: the approval made it APPROVED in the same step.
    assert (found.version, found.status) == (2, ModelVersionStatus.APPROVED)
    assert found.approved_digest == found.content_hash
    with pytest.raises(Forbidden, match="cannot be deleted directly"):
        registry.delete_alias(model, "champion", actor=OWNER)
    assert registry.get_model_version_by_alias(model, "champion").version == 2
    # An approval to an unguarded alias approves the version but records no digest.
    assert registry.get_model_version(model, 3).approved_digest is None
    _promote(registry, model, 3, "staging")
    assert registry.get_model_version(model, 3).approved_digest is None
    actions = [a.action.value for a in registry.list_audit(model).records]
    assert actions.count("alias.set") == 2 and "alias.delete" not in actions


def test_check_results_are_kept_in_order(registry: RegistryStore, three: str) -> None:
    model = three
    first = registry.record_check(model, 1, "accuracy", False, details={"auc": 0.6}, actor=CI)
    registry.record_check(model, 1, "accuracy", True, details={"auc": 0.9}, actor=CI)
    registry.record_check(model, 1, "latency", True, actor=REVIEWER)
    registry.record_check(model, 2, "accuracy", True, actor=CI)
    found = registry.list_checks(model, 1)
    assert found[0] == first
    assert [(c.check, c.passed, c.details, c.created_by) for c in found] == [
        ("accuracy", False, {"auc": 0.6}, CI),
        ("accuracy", True, {"auc": 0.9}, CI),
        ("latency", True, None, REVIEWER),
    ]
    assert [c.version for c in registry.list_checks(model, 2)] == [2]
    records = registry.list_audit(model, action="check.record").records
    assert [(r.version, r.after) for r in records][:2] == [
        (1, {"check": "accuracy", "passed": False}),
        (1, {"check": "accuracy", "passed": True}),
    ]


def test_bad_checks_and_policies_are_refused(registry: RegistryStore, three: str) -> None:
    model = three
    with pytest.raises(InvalidArgument, match="check name"):
        registry.record_check(model, 1, "", True, actor=CI)
    with pytest.raises(InvalidArgument, match="check name"):
        registry.record_check(model, 1, "a\x00", True, actor=CI)
    with pytest.raises(InvalidArgument, match="passed"):
        registry.record_check(model, 1, "acc", "yes", actor=CI)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="details"):
        registry.record_check(model, 1, "acc", True, details={"x": "y" * 70_000}, actor=CI)
    with pytest.raises(InvalidArgument, match="details"):
        registry.record_check(model, 1, "acc", True, details={"x": float("nan")}, actor=CI)
    with pytest.raises(InvalidArgument, match="details"):
        registry.record_check(model, 1, "acc", True, details=["x"], actor=CI)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="check name"):
        registry.set_alias_policy(model, "champion", ["ok", "bad\nname"], actor=OWNER)
    with pytest.raises(InvalidArgument, match="alias"):
        registry.set_alias_policy(model, "Champion", ["ok"], actor=OWNER)
    assert registry.list_checks(model, 1) == []
    assert registry.get_alias_policies(model) == []

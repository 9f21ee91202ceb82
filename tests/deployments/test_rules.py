"""The rules of a deployment change, on every store (SQLite, PostgreSQL, REST over a real
server): targets must exist, weights add up, promote and rollback mean what they say,
a stale revision is refused, and a refused change changes nothing."""

from __future__ import annotations

import pytest

from conftest import unique
from deployments.conftest import Models
from keel.client import Client
from keel.entities.deployment import DeploymentAction, Target, TrafficPolicy
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound


def live(deployment: object) -> dict[str, int]:
    return {t.model_uri: t.weight for t in deployment.policy.live}  # type: ignore[attr-defined]


def shadows(deployment: object) -> list[str]:
    return [t.model_uri for t in deployment.policy.shadows]  # type: ignore[attr-defined]


def test_create_get_list_and_history(client: Client, models: Models, name: str) -> None:
    made = client.deployments.create(name, models.uri("champion"), description="fraud scoring")
    assert (made.name, made.revision, made.description) == (name, 1, "fraud scoring")
    assert live(made) == {models.uri("champion"): 100}
    assert made.created_at == made.updated_at > 0
    assert client.deployments.get(name) == made
    assert name in [d.name for d in client.deployments.list()]
    (first,) = client.deployments.history(name)
    assert (first.revision, first.action, first.policy) == (1, DeploymentAction.CREATE, made.policy)


def test_create_with_a_policy_keeps_sticky_key_and_sampling(
    client: Client, models: Models, name: str
) -> None:
    policy = TrafficPolicy(
        (Target(models.uri(1), 50), Target(models.uri(2), 50), Target(models.uri(3), 0, True)),
        sticky_key="X-User-Id",
        sampling=0.25,
    )
    made = client.deployments.create(name, policy=policy)
    assert client.deployments.get(name).policy == policy == made.policy


def test_a_target_that_does_not_resolve_is_named_and_nothing_is_made(
    client: Client, models: Models, name: str
) -> None:
    cases = {
        models.uri("missing"): f"{models.uri('missing')}: ",
        models.uri(9): f"{models.uri(9)}: ",
        "models:/no-such-model@champion": "models:/no-such-model@champion: ",
    }
    for uri, named in cases.items():
        with pytest.raises(InvalidArgument, match="traffic targets") as caught:
            client.deployments.create(name, uri)
        assert named in caught.value.message
        with pytest.raises(NotFound):
            client.deployments.get(name)
    with pytest.raises(InvalidArgument) as caught:
        client.deployments.create(
            name, policy=TrafficPolicy((Target(models.uri(1), 90), Target(models.uri(7), 10)))
        )
    assert models.uri(7) in caught.value.message and models.uri(1) not in caught.value.message


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("Fraud_API", "must be 1 to 63 lowercase letters"),
        ("-api", "must be 1 to 63 lowercase letters"),
        ("a" * 64, "must be 1 to 63 lowercase letters"),
    ],
)
def test_bad_names_are_refused(client: Client, models: Models, bad: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        client.deployments.create(bad, models.uri(1))


def test_bad_policies_are_refused_with_their_rule(
    client: Client, models: Models, name: str
) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    cases = [
        ({models.uri(1): 90, models.uri(2): 5}, {}, "live weights must add up to 100, got 95"),
        ({models.uri(1): 100, models.uri(2): -1}, {}, "must be between 0 and 100, got -1"),
        ({models.uri(1): 100}, {"shadows": [models.uri(1)]}, "each model once"),
        ({"runs:/abc/model": 100}, {}, "must be a registered model"),
        ({}, {}, "at least one model"),
        ({models.uri(1): 100}, {"sampling": 1.5}, "sampling: must be between 0 and 1"),
        ({models.uri(1): 100}, {"sticky_key": "no spaces"}, "must be a header name"),
    ]
    for weights, extra, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            d.set_traffic(name, weights, **extra)
    assert d.get(name).revision == 1
    assert len(d.history(name)) == 1


def test_a_second_create_is_refused(client: Client, models: Models, name: str) -> None:
    client.deployments.create(name, models.uri(1))
    with pytest.raises(AlreadyExists, match=f"deployment {name!r}: already exists"):
        client.deployments.create(name, models.uri(2))
    assert live(client.deployments.get(name)) == {models.uri(1): 100}


def test_set_traffic_with_weights_and_shadows(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1), sticky_key="X-User", sampling=0.5)
    changed = d.set_traffic(
        name, {models.uri(1): 90, models.uri(2): 10}, shadows=[models.uri(3)], expected_revision=1
    )
    assert changed.revision == 2
    assert live(changed) == {models.uri(1): 90, models.uri(2): 10}
    assert shadows(changed) == [models.uri(3)]
    assert (changed.policy.sticky_key, changed.policy.sampling) == ("X-User", 0.5)  # kept
    assert d.get(name) == changed
    again = d.set_traffic(name, changed.policy)
    assert again.revision == 2  # the same policy again: no new revision
    assert [r.action for r in d.history(name)] == [
        DeploymentAction.TRAFFIC,
        DeploymentAction.CREATE,
    ]


def test_a_stale_revision_is_a_conflict_naming_both(
    client: Client, models: Models, name: str
) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    d.set_traffic(name, {models.uri(1): 90, models.uri(2): 10}, expected_revision=1)
    attempts = [
        lambda: d.set_traffic(name, {models.uri(2): 100}, expected_revision=1),
        lambda: d.promote(name, expected_revision=1),
        lambda: d.rollback(name, expected_revision=1),
        lambda: d.delete(name, expected_revision=1),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="expected revision 1, but it is at revision 2"):
            attempt()
    assert d.get(name).revision == 2


def test_promote_the_canary(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1), sticky_key="X-User")
    d.set_traffic(name, {models.uri(1): 90, models.uri(2): 10}, shadows=[models.uri(3)])
    promoted = d.promote(name, expected_revision=2)
    assert promoted.revision == 3
    assert live(promoted) == {models.uri(2): 100}
    assert shadows(promoted) == [models.uri(3)]  # shadows stay
    assert promoted.policy.sticky_key == "X-User"
    assert d.history(name)[0].action == DeploymentAction.PROMOTE


def test_promote_a_named_live_or_shadow_target(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    d.set_traffic(name, {models.uri(1): 50, models.uri(2): 50}, shadows=[models.uri(3)])
    with pytest.raises(InvalidArgument, match="no single canary"):
        d.promote(name)  # 50/50: which one is the canary?
    promoted = d.promote(name, models.uri(3))
    assert live(promoted) == {models.uri(3): 100}
    assert shadows(promoted) == []  # the shadow went live
    with pytest.raises(Conflict, match="takes all live traffic already"):
        d.promote(name, models.uri(3))
    with pytest.raises(InvalidArgument, match="is not one of its targets"):
        d.promote(name, models.uri(1))
    assert d.get(name).revision == 3


def test_rollback_restores_the_previous_policy_as_a_new_revision(
    client: Client, models: Models, name: str
) -> None:
    d = client.deployments
    made = d.create(name, models.uri(1))
    with pytest.raises(Conflict, match="is its first; there is no earlier policy"):
        d.rollback(name)
    split = d.set_traffic(name, {models.uri(1): 80, models.uri(2): 20}, shadows=[models.uri(3)])
    d.promote(name)
    back = d.rollback(name)
    assert (back.revision, back.policy) == (4, split.policy)
    again = d.rollback(name)  # the policy before the rollback: the promoted one
    assert again.revision == 5 and live(again) == {models.uri(2): 100}
    actions = [r.action.value for r in d.history(name)]
    assert actions == ["rollback", "rollback", "promote", "traffic", "create"]
    assert d.history(name)[-1].policy == made.policy


def test_rollback_to_a_model_that_is_gone_is_refused(client: Client, name: str) -> None:
    d = client.deployments
    old, new = unique("old"), unique("new")
    models_old = _models(client, old)
    models_new = _models(client, new)
    d.create(name, models_old.uri(1))
    d.set_traffic(name, {models_new.uri(1): 100})
    client.registry.delete_alias(old, "champion")
    client.registry.delete_registered_model(old)
    with pytest.raises(InvalidArgument, match=f"models:/{old}/1: "):
        d.rollback(name)
    assert d.get(name).revision == 2


def _models(client: Client, name: str) -> Models:
    from registry.support import MANIFEST

    run = client.create_run(client.create_experiment(unique()))
    client.log_bytes(run.run_id, MANIFEST, "model/keel-model.json")
    client.flush()
    client.registry.register_model(f"runs:/{run.run_id}/model", name)
    client.registry.set_alias(name, "champion", 1)
    return Models(name, 1)


def test_delete(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    gone = d.delete(name, expected_revision=1)
    assert gone.name == name
    for read in (d.get, d.history, d.delete):
        with pytest.raises(NotFound, match=f"deployment {name!r}: no such deployment"):
            read(name)
    assert name not in [x.name for x in d.list()]
    remade = d.create(name, models.uri(2))  # the name is free again, history anew
    assert remade.revision == 1 and len(d.history(name)) == 1


def test_every_change_is_audited(client: Client, models: Models, name: str) -> None:
    d = client.deployments
    d.create(name, models.uri(1))
    d.set_traffic(name, {models.uri(1): 90, models.uri(2): 10})
    d.promote(name)
    d.rollback(name)
    d.delete(name)
    records = client.registry.list_audit(name, resource_type="deployment")
    assert [r.action.value for r in records] == [
        "deployment.create",
        "deployment.traffic",
        "deployment.promote",
        "deployment.rollback",
        "deployment.delete",
    ]
    assert {r.actor for r in records} == {client.user}
    assert [r.version for r in records] == [1, 2, 3, 4, 4]  # the revision each made
    traffic = records[1]
    assert traffic.before is not None and traffic.after is not None
    assert (traffic.before["revision"], traffic.after["revision"]) == (1, 2)
    assert traffic.after["policy"]["targets"][1] == {
        "model_uri": models.uri(2),
        "weight": 10,
        "shadow": False,
    }
    assert records[-1].before is not None and records[-1].before["revision"] == 4

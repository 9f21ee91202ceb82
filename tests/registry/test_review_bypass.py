"""Fault 13 §1.1 replayed, on the embedded store (SQLite, PostgreSQL) and against a real
``keel server``: a review bypassed by recording one's own check and moving the guarded
alias, or by lifting the policy, never makes a consumer that trusts
``models:/M@champion`` run the package. Trust is granted to a digest a reviewer
approved through a promotion, not to where the alias points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import unique
from keel.client import Client
from keel.config import Settings
from keel.errors import Conflict, Forbidden
from registry.payload import Doubler, Payload

OWNER, ATTACKER, REVIEWER = "olive", "mallory", "rita"


@pytest.fixture
def clients(store_uri: str, tmp_path: Path) -> Iterator[dict[str, Client]]:
    """One client per person, all on the same store."""
    made: dict[str, Client] = {}
    for who in (OWNER, ATTACKER, REVIEWER):
        settings = Settings(
            home=tmp_path / who,
            artifacts_uri=str(tmp_path / "artifacts"),
            spool_dir=tmp_path / who / "spool",
            user=who,
        )
        made[who] = Client(store_uri, settings=settings)
    try:
        yield made
    finally:
        for client in made.values():
            client.close()


def _log(client: Client, model: object, **options: object) -> str:
    experiment = client.create_experiment(unique())
    run = client.create_run(experiment, run_name="train")
    logged = client.log_model(run.run_id, model, **options)
    client.set_terminated(run.run_id)
    return logged.uri


def _consumer(clients: dict[str, Client], entry: str, store_uri: str, tmp: Path) -> Client:
    """A model server's client, with ``KEEL_TRUSTED_MODEL_SOURCES=<entry>``."""
    home = tmp / f"consumer-{len(clients)}"
    settings = Settings(
        home=home,
        artifacts_uri=str(tmp / "artifacts"),
        spool_dir=home / "spool",
        user="consumer",
        trusted_model_sources=(entry,),
    )
    consumer = Client(store_uri, settings=settings)
    clients[str(home)] = consumer  # closed with the others
    return consumer


def test_the_review_cannot_be_bypassed_to_run_code_on_consumers(
    clients: dict[str, Client], store_uri: str, tmp_path: Path
) -> None:
    owner, attacker, reviewer = clients[OWNER], clients[ATTACKER], clients[REVIEWER]
    name = unique("m")
    canary = tmp_path / "outside-the-store" / "canary"
    canary.parent.mkdir()

    # The owner guards champion with a review and promotes a benign version properly.
    good = owner.registry.register_model(_log(owner, Doubler()), name)
    owner.registry.set_alias_policy(name, "champion", ["review"])
    reviewer.registry.record_check(name, good.version, "review", True)
    request = owner.registry.request_promotion(name, good.version, "champion")
    reviewer.registry.approve(request.id, "reviewed")
    consumer = _consumer(clients, f"models:/{name}@champion", store_uri, tmp_path)
    served = consumer.registry.load_model(f"models:/{name}@champion")
    assert served.predict(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]

    # The attacker registers a payload and records the review check on it themselves.
    bad = attacker.registry.register_model(_log(attacker, Payload(str(canary))), name)
    attacker.registry.record_check(name, bad.version, "review", True)
    with pytest.raises(Forbidden, match="request a promotion"):
        attacker.registry.set_alias(name, "champion", bad.version)
    with pytest.raises(Forbidden, match="request a promotion"):
        attacker.registry.delete_alias(name, "champion")
    if store_uri.startswith("http"):  # the raw request of the report: PUT …/aliases/champion
        put = httpx.put(
            f"{store_uri}/api/v1/registered-models/{name}/aliases/champion",
            json={"version": bad.version},
            headers={"X-Keel-User": ATTACKER},
        )
        assert put.status_code == 403, put.text
    assert owner.registry.resolve(f"models:/{name}@champion").version == good.version
    assert owner.registry.get_model_version(name, bad.version).status == "PENDING_REVIEW"

    # Lifting the policy (who may is the route's business) is audited, before and after,
    # and then the alias moves; but the payload's digest was never approved.
    attacker.registry.set_alias_policy(name, "champion", [])
    lifted = owner.registry.list_audit(name, action="alias_policy.set").records[-1]
    assert (lifted.actor, lifted.before, lifted.after) == (
        ATTACKER,
        {"required_checks": ["review"]},
        {"required_checks": []},
    )
    if store_uri.startswith("http"):
        assert lifted.request_id  # the server's X-Request-ID rides along
    attacker.registry.set_alias(name, "champion", bad.version)
    with pytest.raises(Conflict, match="PENDING_REVIEW"):  # nor can it look reviewed
        attacker.registry.set_alias_policy(name, "champion", ["review"])
    moved = consumer.registry.resolve(f"models:/{name}@champion")
    assert (moved.version, moved.approved_digest) == (bad.version, None)
    with pytest.raises(Forbidden, match="cloudpickled"):
        consumer.registry.load_model(f"models:/{name}@champion")
    assert not canary.exists(), "the payload ran on the consumer"

    # Nor does a promotion approved to an unguarded alias make it trusted.
    request = attacker.registry.request_promotion(name, bad.version, "staging")
    reviewer.registry.approve(request.id)
    with pytest.raises(Forbidden, match="cloudpickled"):
        consumer.registry.load_model(f"models:/{name}@champion")
    assert not canary.exists(), "the payload ran on the consumer"

    # The good version, approved under the policy, stays trusted by its digest where the
    # consumer trusts the model's reviewed versions (no longer champion, so not there).
    with pytest.raises(Forbidden):
        consumer.registry.load_model(f"models:/{name}/{good.version}")
    reviewed = _consumer(clients, f"models:/{name}", store_uri, tmp_path)
    again = reviewed.registry.load_model(f"models:/{name}/{good.version}")
    assert again.predict(np.array([3.0])).tolist() == [6.0]
    with pytest.raises(Forbidden, match="cloudpickled"):
        reviewed.registry.load_model(f"models:/{name}/{bad.version}")
    assert not canary.exists(), "the payload ran on the consumer"
    assert owner.registry.get_model_version(name, good.version).approved_digest == (
        good.content_hash
    )

    # The canary works: whoever loads the payload with trust=True runs it.
    attacker.registry.load_model(f"models:/{name}/{bad.version}", trust=True)
    assert canary.read_text() == "the payload ran"


def test_a_tree_model_loads_from_skops_once_reviewed(
    clients: dict[str, Client], store_uri: str, tmp_path: Path
) -> None:
    """skops' unsafe tree types load from the skops file only for a reviewed digest (or
    with trust=True); otherwise the refusal points at the ONNX copy."""
    from sklearn.tree import DecisionTreeClassifier

    owner, reviewer = clients[OWNER], clients[REVIEWER]
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    tree = DecisionTreeClassifier(random_state=0).fit(x, [0, 1, 0, 1])
    name = unique("tree")
    first = owner.registry.register_model(_log(owner, tree, input_example=x), name)
    second = owner.registry.register_model(_log(owner, tree, input_example=x), name)
    owner.registry.set_alias_policy(name, "champion", ["review"])
    reviewer.registry.record_check(name, first.version, "review", True)
    request = owner.registry.request_promotion(name, first.version, "champion")
    reviewer.registry.approve(request.id)

    consumer = _consumer(clients, f"models:/{name}", store_uri, tmp_path)
    reviewed = consumer.registry.load_model(f"models:/{name}@champion", flavor="sklearn")
    assert reviewed.predict(x).tolist() == [0, 1, 0, 1]
    with pytest.raises(Forbidden, match="ONNX copy"):
        consumer.registry.load_model(f"models:/{name}/{second.version}", flavor="sklearn")
    copy = consumer.registry.load_model(f"models:/{name}/{second.version}")  # its ONNX copy
    assert copy.flavor == "onnx" and copy.predict(x).tolist() == [0, 1, 0, 1]

"""``SqlDeploymentStore`` itself (SQLite, PostgreSQL): what it refuses whoever calls it,
and which of a backend's deployment parts each kind of store has."""

from __future__ import annotations

import pytest

from conftest import unique
from keel.client import Client
from keel.entities.deployment import DeploymentAction, TrafficPolicy
from keel.errors import InvalidArgument

ONE = TrafficPolicy.single("models:/fraud/1")
TWO = TrafficPolicy.single("models:/fraud/2")


@pytest.mark.parametrize("store_uri", ["sqlite", "postgres"], indirect=True)
def test_the_store_refuses_bad_writes(client: Client) -> None:
    store = client.backend.deployment_store
    name = unique("dep")
    made = store.create_deployment(name, ONE, actor="olive", tags={"team": "risk"})
    assert store.get_deployment(name) == made and made.tags == {"team": "risk"}
    cases = [
        (lambda: store.write_policy(name, TWO, action=DeploymentAction.CREATE, actor="o"),
         "not create"),
        (lambda: store.write_policy(name, TWO, action="shout", actor="o"),  # type: ignore[arg-type]
         "action: must be one of create, traffic, promote, rollback"),
        (lambda: store.write_policy(name, {"targets": []}, action="traffic", actor="o"),  # type: ignore[arg-type]
         "policy: must be a TrafficPolicy"),
        (lambda: store.write_policy(name, TWO, action="traffic", actor=""),  # type: ignore[arg-type]
         "actor"),
        (lambda: store.create_deployment(unique("dep"), ONE, actor="o", tags=["x"]),  # type: ignore[arg-type]
         "tags: must be an object"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            call()
    changed = store.write_policy(name, TWO, action="promote", actor="o")  # type: ignore[arg-type]
    assert changed.revision == 2 and changed.tags == {"team": "risk"}
    assert store.deployment_history(name)[0].action is DeploymentAction.PROMOTE


@pytest.mark.parametrize("store_uri", ["sqlite", "rest"], indirect=True)
def test_each_backend_has_its_own_parts(client: Client) -> None:
    backend = client.backend
    if backend.remote:
        assert backend.deployments is backend.deployments_api
        with pytest.raises(AssertionError, match="a database's"):
            backend.deployment_store  # noqa: B018
    else:
        assert backend.deployments is backend.deployment_store
        with pytest.raises(AssertionError, match="a server's"):
            backend.deployments_api  # noqa: B018

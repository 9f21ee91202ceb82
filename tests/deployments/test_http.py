"""The deployment routes as HTTP (an open ``keel server``): statuses, Keel's error shape,
strict bodies; and ``Backend.deployments``, what a model server follows, on each kind of
store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess, unique
from deployments.conftest import Models, register
from keel.client import Client
from keel.config import Settings
from keel.store import open_backend
from keel.store.deployments import DeploymentReader
from server.support import API, assert_error


@pytest.fixture
def api(server: ServerProcess) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=30, headers={"X-Keel-User": "hugo"}) as c:
        yield c  # type: ignore[misc]


@pytest.fixture
def open_client(server: ServerProcess, tmp_path: Path) -> Client:
    with Client(server.url, settings=Settings(home=tmp_path / "home")) as c:
        yield c  # type: ignore[misc]


def body(uri: str) -> dict[str, object]:
    return {"targets": [{"model_uri": uri}]}


def test_statuses(api: httpx.Client, open_client: Client) -> None:
    models: Models = register(open_client)
    name = unique("dep")
    r = api.post(f"{API}/deployments", json={"name": name, "policy": body(models.uri(1))})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["revision"], made["created_by"]) == (1, "hugo")
    assert made["policy"]["targets"] == [
        {"model_uri": models.uri(1), "weight": 100, "shadow": False}
    ]
    assert_error(
        api.post(f"{API}/deployments", json={"name": name, "policy": body(models.uri(1))}),
        409,
        "already exists",
    )
    traffic = f"{API}/deployments/{name}/traffic"
    split = {"targets": [{"model_uri": models.uri(1), "weight": 60},
                         {"model_uri": models.uri(2), "weight": 40}]}  # fmt: skip
    r = api.put(traffic, json={"policy": split, "expected_revision": 1})
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    assert_error(
        api.put(traffic, json={"policy": body(models.uri(3)), "expected_revision": 1}),
        409,
        "expected revision 1, but it is at revision 2",
    )
    assert_error(
        api.put(
            traffic, json={"policy": {"targets": [{"model_uri": models.uri(1), "weight": 50}]}}
        ),
        400,
        "live weights must add up to 100, got 50",
    )
    assert_error(api.put(traffic, json={"policy": body(models.uri(1)), "extra": 1}), 422)
    assert_error(
        api.put(
            traffic, json={"policy": {"targets": [{"model_uri": models.uri(1), "weight": True}]}}
        ),
        422,
    )
    assert_error(
        api.put(traffic, json={"policy": body(models.uri(1)), "expected_revision": 0}), 400
    )
    assert_error(api.post(f"{API}/deployments/{name}/promote", json={"model_uri": "x"}), 400)
    r = api.post(f"{API}/deployments/{name}/promote")  # no body: the canary
    assert r.status_code == 200 and r.json()["revision"] == 3, r.text
    r = api.post(f"{API}/deployments/{name}/rollback", json={"expected_revision": 3})
    assert r.status_code == 200 and r.json()["policy"]["targets"][1]["weight"] == 40, r.text
    r = api.get(f"{API}/deployments/{name}/history")
    assert [x["action"] for x in r.json()["revisions"]] == [
        "rollback", "promote", "traffic", "create"
    ]  # fmt: skip
    assert_error(api.delete(f"{API}/deployments/{name}", params={"expected_revision": 1}), 409)
    assert api.delete(f"{API}/deployments/{name}").status_code == 200
    assert_error(api.get(f"{API}/deployments/{name}"), 404, "no such deployment")
    assert_error(api.get(f"{API}/deployments/Not_A_Name"), 400, "lowercase letters")


def test_the_reader_a_model_server_follows(client: Client, models: Models, name: str) -> None:
    """``Backend.deployments`` on each store: the policy and revision, seen at once."""
    reader = client.backend.deployments
    assert isinstance(reader, DeploymentReader)
    client.deployments.create(name, models.uri(1))
    assert reader.get_deployment(name).revision == 1
    client.deployments.set_traffic(name, {models.uri(1): 50, models.uri(2): 50})
    found = reader.get_deployment(name)
    assert found.revision == 2
    assert [t.weight for t in found.policy.live] == [50, 50]
    assert name in [d.name for d in reader.list_deployments()]
    assert [r.revision for r in reader.deployment_history(name)] == [2, 1]


def test_a_database_backend_opened_apart_sees_the_change(
    store_uri: str, client: Client, models: Models, name: str, tmp_path: Path
) -> None:
    """Two replicas behind a load balancer read one store: a change made through one
    client is what another process's backend reads next."""
    client.deployments.create(name, models.uri(1))
    settings = Settings(home=tmp_path / "other", artifacts_uri=str(tmp_path / "artifacts"))
    with open_backend(store_uri, settings) as other:
        assert other.deployments.get_deployment(name).revision == 1
        client.deployments.set_traffic(name, {models.uri(2): 100})
        assert other.deployments.get_deployment(name).policy.live[0].model_uri == models.uri(2)


def test_the_audit_schema_names_every_resource_type() -> None:
    """The OpenAPI document's enum of audit resource types is the entity's (a deployment's
    records were once answered against a schema that did not list them)."""
    from typing import get_args

    from keel.entities.audit import ResourceType
    from keel.wire.governance import ResourceTypeName

    assert set(get_args(ResourceTypeName)) == {t.value for t in ResourceType}

"""The registry's HTTP API on a real ``keel server``: statuses, the error shape, the
acting user's header, quoted names, and an OpenAPI document covering the client."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import keel.store.rest.registry as rest_registry
from conftest import ServerProcess, unique
from server.support import API, assert_error, create_experiment, create_run, log_problems

MODELS = f"{API}/registered-models"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def as_user(name: str) -> dict[str, str]:
    return {"X-Keel-User": quote(name, safe="")}


@pytest.fixture
def source(api: httpx.Client) -> str:
    run_id = create_run(api, create_experiment(api))
    r = api.put(
        f"{API}/runs/{run_id}/artifacts/content",
        params={"path": "model/keel-model.json"},
        content=b"{}",
    )
    assert r.status_code == 201, r.text
    return f"runs:/{run_id}/model"


@pytest.fixture
def model(api: httpx.Client) -> str:
    name = unique("http model #")  # a space, '#': must be quoted in paths
    r = api.post(MODELS, json={"name": name}, headers=as_user("olive"))
    assert r.status_code == 201, r.text
    return name


def path(name: str, *rest: str) -> str:
    return "/".join([MODELS, quote(name, safe=""), *rest])


def version(api: httpx.Client, model: str, source: str, **extra: Any) -> httpx.Response:
    body = {"source": source, "content_hash": "blake3:" + "0" * 64, **extra}
    return api.post(path(model, "versions"), json=body, headers=as_user("olive"))


def test_the_acting_user_comes_from_the_header(api: httpx.Client, source: str) -> None:
    name = unique("who")
    assert api.post(MODELS, json={"name": name}).status_code == 201  # no header
    r = api.put(path(name, "tags"), json={"key": "k", "value": "v"}, headers=as_user("Zoë Ng"))
    assert r.status_code == 204, r.text
    records = api.get(f"{API}/audit", params={"name": name}).json()["records"]
    assert [(a["action"], a["actor"]) for a in records] == [
        ("model.create", "anonymous"),
        ("model.tag.set", "Zoë Ng"),
    ]
    assert_error(api.put(path(name, "tags"), json={"key": "k", "value": "w"},
                         headers={"X-Keel-User": "a%00b"}), 400, "X-Keel-User")  # fmt: skip


def test_statuses_for_each_kind_of_error(api: httpx.Client, model: str, source: str) -> None:
    assert version(api, model, source).status_code == 201
    assert_error(api.get(path(model, "versions", "7")), 404, "no such version")
    assert_error(api.get(path(unique("nope"))), 404, "no such model")
    assert_error(api.post(MODELS, json={"name": model}), 409, "already exists")
    assert_error(api.post(MODELS, json={"name": "a/b"}), 400, "model name", "'/'")
    assert_error(version(api, model, "file:///etc/passwd"), 400, "source")
    assert_error(version(api, model, source.replace("/model", "/%2e%2e/model")), 400, "..")
    assert_error(version(api, model, source, signature="{"), 400, "signature")
    # schema errors: 422 naming the field
    assert_error(api.post(MODELS, json={}), 422, "name")
    assert_error(api.post(path(model, "versions"), json={"source": source}), 422, "content_hash")
    assert_error(api.get(path(model, "versions", "one")), 422, "version")
    assert_error(api.put(path(model, "aliases", "champion"), json={"version": "1"}), 422)
    assert_error(api.post(MODELS, json={"name": "x", "owner": "me"}), 422, "owner")
    # conflicts and permissions
    r = api.put(path(model, "alias-policies", "champion"), json={"required_checks": ["acc"]})
    assert r.status_code == 200 and r.json()["required_checks"] == ["acc"]
    assert_error(
        api.put(path(model, "aliases", "champion"), json={"version": 1}), 409, "acc (missing)"
    )
    r = api.post(
        path(model, "promotion-requests"),
        json={"version": 1, "alias": "staging"},
        headers=as_user("olive"),
    )
    assert r.status_code == 201, r.text
    decision = f"{API}/promotion-requests/{r.json()['id']}/decision"
    assert_error(api.post(decision, json={"approve": True}, headers=as_user("olive")), 403)
    r = api.post(decision, json={"approve": True, "comment": "ok"}, headers=as_user("rita"))
    assert r.status_code == 200 and r.json()["state"] == "APPROVED", r.text
    assert api.get(path(model, "aliases", "staging")).json()["version"] == 1
    assert_error(api.post(decision, json={"approve": True}, headers=as_user("rita")), 409)
    assert_error(api.delete(path(model)), 409, "staging -> 1")
    assert_error(api.post(f"{API}/promotion-requests/999999999/cancel"), 404)
    assert_error(api.get(f"{API}/promotion-requests/{2**40}"), 400, "request id")
    assert_error(api.get(f"{API}/audit", params={"action": "x"}), 400, "action")


def test_no_request_made_the_server_fail(api: httpx.Client, server: ServerProcess) -> None:
    assert api.get(f"{API}/audit", params={"max_results": 1}).status_code == 200
    assert log_problems(server.log) == []


def test_free_form_values_travel_in_queries(api: httpx.Client, model: str) -> None:
    key = "owner team/area: risk"
    assert api.put(path(model, "tags"), json={"key": key, "value": "v"}).status_code == 204
    assert api.get(path(model)).json()["tags"] == {key: "v"}
    assert api.delete(path(model, "tags"), params={"key": key}).status_code == 204
    found = api.get(MODELS, params={"name_like": model.replace("#", "_")}).json()
    assert [m["name"] for m in found["models"]] == [model]


def client_routes() -> set[tuple[str, str]]:
    """(METHOD, path template) of every request in the REST registry client's source."""
    tree = ast.parse(inspect.getsource(rest_registry))
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Attribute) and owner.attr == "http"):
            continue
        if node.func.attr != "request":
            continue
        method, template = node.args[0], node.args[1]
        assert isinstance(method, ast.Constant) and isinstance(template, ast.JoinedStr)
        text = ""
        for part in template.values:
            if isinstance(part, ast.Constant):
                text += str(part.value)
            elif isinstance(part.value, ast.Name) and part.value.id == "API":
                text += rest_registry.API
            else:
                text += "{}"
        found.add((str(method.value), text))
    return found


def test_openapi_lists_every_route_the_registry_client_calls(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", p))
        for p, ops in document["paths"].items()
        for method in ops
    }
    wanted = client_routes()
    assert len(wanted) >= 25, sorted(wanted)
    assert wanted <= served, sorted(wanted - served)

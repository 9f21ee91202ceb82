"""The registry's HTTP API on a real ``keel server``: statuses, the error shape, the
acting user's header and quoted names (the routes the client calls are checked against
the OpenAPI document in tests/server/test_server_openapi.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conftest import ServerProcess, unique
from keel.artifacts.hashing import hash_bytes
from registry.support import MANIFEST, SIGNATURE, manifest
from server.support import API, assert_error, create_experiment, create_run, log_problems

MODELS = f"{API}/registered-models"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def as_user(name: str) -> dict[str, str]:
    return {"X-Keel-User": quote(name, safe="")}


def log_source(api: httpx.Client, files: dict[str, bytes]) -> str:
    """A new run holding ``files`` below ``model/``; returns ``runs:/<run_id>/model``."""
    run_id = create_run(api, create_experiment(api))
    for name, content in files.items():
        r = api.put(
            f"{API}/runs/{run_id}/artifacts/content",
            params={"path": f"model/{name}"},
            content=content,
        )
        assert r.status_code == 201, r.text
    return f"runs:/{run_id}/model"


@pytest.fixture
def source(api: httpx.Client) -> str:
    return log_source(api, {"keel-model.json": MANIFEST})


@pytest.fixture
def model(api: httpx.Client) -> str:
    name = unique("http model #")  # a space, '#': must be quoted in paths
    r = api.post(MODELS, json={"name": name}, headers=as_user("olive"))
    assert r.status_code == 201, r.text
    return name


def path(name: str, *rest: str) -> str:
    return "/".join([MODELS, quote(name, safe=""), *rest])


def version(api: httpx.Client, model: str, source: str, **extra: Any) -> httpx.Response:
    body = {"source": source, **extra}
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
    assert_error(version(api, model, log_source(api, {"keel-model.json": b"{}"})), 400,
                 "not a model manifest")  # fmt: skip
    # schema errors: 422 naming the field
    assert_error(api.post(MODELS, json={}), 422, "name")
    assert_error(api.post(path(model, "versions"), json={}), 422, "source")
    assert_error(version(api, model, source, signature="{}"), 422, "signature")
    assert_error(api.get(path(model, "versions", "one")), 422, "version")
    assert_error(api.put(path(model, "aliases", "champion"), json={"version": "1"}), 422)
    assert_error(api.post(MODELS, json={"name": "x", "owner": "me"}), 422, "owner")
    # conflicts and permissions
    r = api.put(path(model, "alias-policies", "champion"), json={"required_checks": ["acc"]})
    assert r.status_code == 200 and r.json()["required_checks"] == ["acc"]
    assert_error(
        api.put(path(model, "aliases", "champion"), json={"version": 1}),
        403,
        "request a promotion",
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


def test_the_server_derives_the_digest_from_the_stored_manifest(
    api: httpx.Client, model: str
) -> None:
    signed = manifest(SIGNATURE)
    source = log_source(api, {"keel-model.json": signed, "model.skops": b"abc"})
    forged = "blake3:" + "f" * 64
    # A client cannot say what the package's digest or signature is: the fields are gone.
    assert_error(version(api, model, source, content_hash=forged), 422, "content_hash")
    assert_error(version(api, model, source, signature='{"x": 1}'), 422, "signature")
    assert api.get(path(model, "versions")).json()["versions"] == []

    r = version(api, model, source)
    assert r.status_code == 201, r.text
    run_id = source.split("/")[1]
    stored = api.get(
        f"{API}/runs/{run_id}/artifacts/content", params={"path": "model/keel-model.json"}
    ).content
    assert stored == signed
    derived = f"blake3:{hash_bytes(stored)}"
    got = api.get(path(model, "versions", "1")).json()
    assert got["content_hash"] == r.json()["content_hash"] == derived != forged
    assert got["signature"] == json.dumps(json.loads(stored)["signature"], sort_keys=True)
    after = api.get(f"{API}/audit", params={"name": model, "action": "version.create"}).json()
    assert after["records"][0]["after"]["content_hash"] == derived

    # A folder without a manifest is no model, whatever else it holds.
    bare = log_source(api, {"model.skops": b"abc"})
    assert_error(version(api, model, bare), 400, "not a model", "keel-model.json")
    assert [v["version"] for v in api.get(path(model, "versions")).json()["versions"]] == [1]


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

"""The server describes itself: /health, /docs, and an OpenAPI document that covers every
route the REST client calls. It refuses to sit on top of another server."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import keel.store.rest.store as rest_store
from conftest import free_port
from keel.wire.writes import RunWriteIn


def client_routes() -> set[tuple[str, str]]:
    """(METHOD, path template) for every request in the REST client's source, path
    parameters written ``{}``."""
    tree = ast.parse(inspect.getsource(rest_store))
    found: set[tuple[str, str]] = set()
    calls = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        verb = node.func.attr
        if not (isinstance(owner, ast.Attribute) and owner.attr == "http"):
            continue
        if verb not in ("request", "upload", "download", "stream_lines"):
            continue
        calls += 1
        if verb == "request":
            method_node, path_node = node.args[0], node.args[1]
            assert isinstance(method_node, ast.Constant)
            method = str(method_node.value)
        else:
            method = {"upload": "PUT", "download": "GET", "stream_lines": "GET"}[verb]
            path_node = node.args[0]
        assert isinstance(path_node, ast.JoinedStr), ast.dump(path_node)
        path = ""
        for part in path_node.values:
            if isinstance(part, ast.Constant):
                path += str(part.value)
            elif isinstance(part.value, ast.Name) and part.value.id == "API":
                path += rest_store.API
            else:
                path += "{}"
        found.add((method, path))
    assert calls >= len(found) > 0
    return found


def openapi_routes(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, ops in paths.items()
        for method in ops
    }


def test_openapi_lists_every_route_the_client_calls(api: httpx.Client) -> None:
    r = api.get("/openapi.json")
    assert r.status_code == 200
    document = r.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Keel"
    served = openapi_routes(document)
    wanted = client_routes()
    assert len(wanted) >= 20, sorted(wanted)  # the parse found the client's calls
    assert wanted <= served, f"client calls routes the server does not document: {wanted - served}"
    assert ("GET", "/health") in served


def test_the_write_batch_body_is_documented(api: httpx.Client) -> None:
    """``POST /writes`` reads its body itself (orjson and the codec, once), so the schema is
    given to the document by hand; the models it uses are written out, not referred to."""
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/writes"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema["title"] == "WriteBatchIn" and schema["additionalProperties"] is False
    assert set(schema["required"]) == {"batch_id", "runs"}
    run = schema["properties"]["runs"]["items"]
    assert set(run["properties"]) == set(RunWriteIn.model_fields)
    assert "$ref" not in json.dumps(body)


def test_every_documented_route_answers(api: httpx.Client) -> None:
    """No documented route is a 5xx or an unrouted 404/405 for an empty request."""
    document = api.get("/openapi.json").json()
    for path, ops in document["paths"].items():
        concrete = re.sub(r"\{run_id\}", "0" * 32, path)
        concrete = re.sub(r"\{experiment_id\}", "987654321", concrete)
        for method in ops:
            r = api.request(method.upper(), concrete)
            assert r.status_code < 500, (method, path, r.status_code, r.text[:200])
            if r.status_code == 404:
                assert r.json()["error"]["message"] != "Not Found", (method, path)
            assert r.status_code != 405, (method, path)


def test_streamed_history_is_documented_as_json_lines(api: httpx.Client, run_id: str) -> None:
    """The document says what the route sends: JSON lines, each one of the line models."""
    document = api.get("/openapi.json").json()
    ok = document["paths"]["/api/v1/runs/{run_id}/metrics/history"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["application/x-ndjson"]
    refs = [item["$ref"] for item in ok["content"]["application/x-ndjson"]["itemSchema"]["oneOf"]]
    names = [ref.removeprefix("#/components/schemas/") for ref in refs]
    assert names == ["MetricHistoryHead", "MetricHistoryChunk", "StreamEnd", "StreamError"]
    assert set(names) <= set(document["components"]["schemas"])
    served = api.get(f"/api/v1/runs/{run_id}/metrics/history", params={"key": "m"})
    assert served.headers["content-type"] == "application/x-ndjson"


def test_health_and_docs(api: httpx.Client) -> None:
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "openapi.json" in docs.text and "swagger" in docs.text.lower()


@pytest.mark.parametrize("workers", [1, 2])
def test_server_refuses_http_backend(tmp_path: Path, workers: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "keel", "server", "--host", "127.0.0.1",
            "--port", str(port), "--backend-store-uri", "http://127.0.0.1:9",
            "--artifacts-uri", str(tmp_path / "a"), "--workers", str(workers),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
        pytest.fail(f"server with an http:// backend kept running: {stderr[-2000:]}")
    assert proc.returncode != 0
    assert time.monotonic() - started < 30
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines[:20]
    assert "backend store URI" in lines[0] and "http://127.0.0.1:9" in lines[0]
    assert "Traceback" not in stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)

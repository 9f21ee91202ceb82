"""The server describes itself: /health, /docs, and an OpenAPI document that lists every
route of ``keel.wire.routes`` (the routes the REST clients call) and nothing else under
``/api/v1``, where every API router is mounted once. It refuses to sit on top of another
server."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

import keel.store.rest.datasets as rest_datasets
import keel.store.rest.registry as rest_registry
import keel.store.rest.store as rest_store
from conftest import free_port
from keel.config import Settings
from keel.server.app import API_DEPENDENCIES, ROUTERS, create_app
from keel.wire import routes
from keel.wire.routes import API
from keel.wire.writes import RunWriteIn


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app in this process (no server: ``app.routes`` and ``app.openapi()`` need none)."""
    home = tmp_path_factory.mktemp("app")
    return create_app(Settings(home=home, tracking_uri=f"sqlite:///{home / 'keel.db'}"))


def app_routes(app: FastAPI) -> list[Any]:
    """The app's routes with their full paths. FastAPI 0.16x keeps an included router as
    one entry of ``app.routes`` and lists its routes through ``iter_route_contexts``; older
    releases copy them into ``app.routes``."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def api_routes(app: FastAPI) -> list[Any]:
    return [
        route
        for route in app_routes(app)
        if isinstance(getattr(route, "original_route", route), APIRoute)
        and route.path.startswith(f"{API}/")
    ]


def served(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every API route the app serves."""
    return {(method, route.path) for route in api_routes(app) for method in route.methods}


def documented(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every API route in the app's OpenAPI document."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(f"{API}/")
        for method in operations
    }


def test_the_route_list_is_the_api(app: FastAPI) -> None:
    """Each route the REST clients call is served and documented with its method, and each
    API route of the app is in the list: nothing undocumented on either side."""
    listed = {(route.method, route.template) for route in routes.ROUTES}
    assert len(listed) == len(routes.ROUTES), "a route is listed twice"
    assert listed - documented(app) == set(), "listed, but not in the OpenAPI document"
    assert documented(app) - listed == set(), "in the OpenAPI document, but not listed"
    assert served(app) == documented(app), "served and documented differ"


def test_the_rest_clients_write_no_paths_of_their_own() -> None:
    for module in (rest_store, rest_registry, rest_datasets):
        source = inspect.getsource(module)
        assert "/api/" not in source, f"{module.__name__}: a path not from keel.wire.routes"
        assert "routes." in source, module.__name__


def test_a_route_fills_its_template_one_encoded_segment_a_value() -> None:
    assert routes.GET_RUN.path(run_id="0" * 32) == f"{API}/runs/{'0' * 32}"
    assert (
        routes.GET_REGISTERED_MODEL.path(name="a/b ..c")
        == f"{API}/registered-models/a%2Fb%20%2E%2Ec"
    )
    assert routes.GET_MODEL_VERSION.at(name="m", version=3) == (
        "GET",
        f"{API}/registered-models/m/versions/3",
    )
    with pytest.raises(TypeError, match="name"):
        routes.GET_MODEL_VERSION.path(name="m")
    with pytest.raises(TypeError, match="run_id"):
        routes.GET_RUN.path(run_id="r", key="k")


# one mount ---------------------------------------------------------------------------------

OUTSIDE_THE_API = {
    "/health",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/docs/assets",  # the Swagger UI and ReDoc files, served offline (test_server_docs.py)
}


def test_every_api_route_is_mounted_once_under_api_v1(app: FastAPI) -> None:
    """The app serves nothing but its API under ``/api/v1``, each route once, and every
    API route runs the mount's dependencies (where authentication will be)."""
    outside = sorted(
        route.path
        for route in app_routes(app)
        if not route.path.startswith(f"{API}/") and route.path not in OUTSIDE_THE_API
    )
    assert outside == [], f"routes outside {API}: mount their router in api_router()"
    mounted = [(method, route.path) for route in api_routes(app) for method in route.methods]
    assert len(mounted) == len(set(mounted)) > 50
    wanted = [d.dependency for d in API_DEPENDENCIES]
    for route in api_routes(app):
        assert [d.dependency for d in route.dependencies[: len(wanted)]] == wanted, route.path


def test_routers_do_not_name_the_mount_point() -> None:
    for router in ROUTERS:
        paths = [router.prefix, *(getattr(route, "path", "") for route in router.routes)]
        assert not any(path.startswith("/api") for path in paths), paths


def test_the_document_describes_the_app(app: FastAPI) -> None:
    document = app.openapi()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Keel"
    assert "/health" in document["paths"]


def test_the_write_batch_body_is_documented(app: FastAPI) -> None:
    """``POST /writes`` reads its body itself (orjson and the codec, once), so the schema is
    given to the document by hand; the models it uses are written out, not referred to."""
    operation = app.openapi()["paths"]["/api/v1/writes"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema["title"] == "WriteBatchIn" and schema["additionalProperties"] is False
    assert set(schema["required"]) == {"batch_id", "runs"}
    run = schema["properties"]["runs"]["items"]
    assert set(run["properties"]) == set(RunWriteIn.model_fields)
    assert "$ref" not in json.dumps(body)


def test_each_route_documents_its_response_model(app: FastAPI) -> None:
    """A route answering JSON under a ``response_model`` documents that model as its body.
    (Found by the fuzzer: the server's response class was not a ``JSONResponse``, so every
    answer was documented as ``{"type": "string"}``.)"""
    documented_models = 0
    for route in api_routes(app):
        original = getattr(route, "original_route", route)
        if original.response_model is None:
            continue
        for method in route.methods:
            operation = app.openapi()["paths"][route.path][method.lower()]
            ok = operation["responses"][str(original.status_code or 200)]
            content = ok["content"]
            media = "application/x-ndjson" if "application/x-ndjson" in content else None
            if media:
                continue  # a stream documents its lines (itemSchema), tested below
            schema = content["application/json"]["schema"]
            assert schema != {"type": "string"}, (method, route.path)
            ref = schema.get("$ref", "")
            assert ref == f"#/components/schemas/{original.response_model.__name__}", (
                method, route.path, schema,
            )  # fmt: skip
            documented_models += 1
    assert documented_models > 40


def test_every_api_route_documents_keels_error_shape(app: FastAPI) -> None:
    """Each API operation declares the errors any route may answer, in the one shape the
    server sends, ``{"error": {"code", "message"}}``; FastAPI's own 422 body (``detail``),
    which the server never sends, is nowhere in the document."""
    document = app.openapi()
    for path, operations in document["paths"].items():
        if not path.startswith(f"{API}/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema["required"] == ["error"], (method, path, status)
                error = schema["properties"]["error"]
                assert set(error["required"]) == {"code", "message"}, (method, path, status)
    assert "HTTPValidationError" not in json.dumps(document)


def test_a_streams_errors_are_documented_as_json(app: FastAPI) -> None:
    """A refused history request answers JSON, not JSON lines: the document says so."""
    operation = app.openapi()["paths"]["/api/v1/runs/{run_id}/metrics/history"]["get"]
    assert list(operation["responses"]["404"]["content"]) == ["application/json"]


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

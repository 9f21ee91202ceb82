"""Deny by default, checked on the app itself: every API route declares a permission
(MLflow's authentication bypasses all came from routes missing from its map), every
one runs the authentication dependency, and only named routes are public."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from keel.config import Settings
from keel.server.app import api_router, create_app
from keel.server.auth import Guard, authenticate
from keel.server.deps import bind_audit_actor
from keel.wire.routes import API

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/docs/assets"),
    ("GET", "/redoc"),
}
"""What anyone may fetch without a token: the health probe and the API's documentation
(with the Swagger UI and ReDoc files it loads, served from a package, never a CDN)."""


def calls(dependant: Dependant) -> list[object]:
    found: list[object] = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(calls(sub))
    return found


def app_routes(app: FastAPI) -> list[Any]:
    """The app's routes with full paths and the dependencies they run. FastAPI 0.16x keeps
    an included router as one entry of ``app.routes`` and lists its routes, each with its
    router's dependencies merged in, through ``iter_route_contexts``; older releases copy
    them into ``app.routes``."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def dependant_of(route: Any) -> Dependant:
    """The dependencies a request to ``route`` runs, its router's included."""
    return getattr(route, "_route_context", route).dependant


def is_api(route: Any) -> bool:
    original = getattr(route, "original_route", route)
    return isinstance(original, APIRoute) and route.path.startswith(f"{API}/")


def unguarded(app: FastAPI) -> list[str]:
    """Every route that is neither public nor an API route with a permission and the
    authentication dependency, as ``METHOD path``."""
    problems = []
    for route in app_routes(app):
        methods = sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"})
        path = getattr(route, "path", "?")
        if is_api(route):
            found = calls(dependant_of(route))
            guards = [c for c in found if isinstance(c, Guard)]
            if len(guards) != 1 or authenticate not in found:
                problems.extend(f"{m} {path}: {len(guards)} permissions" for m in methods)
        else:
            problems.extend(f"{m} {path}: public" for m in methods if (m, path) not in PUBLIC)
    return problems


def test_every_api_route_declares_one_permission(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path))
    api_routes = [r for r in app_routes(app) if is_api(r)]
    assert len(api_routes) > 70  # the whole API is here, not an empty list passing
    assert unguarded(app) == []


def test_the_check_finds_a_route_without_a_permission(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path))
    stray = APIRouter(prefix=API)

    @stray.post("/experiments/{experiment_id}/forgotten")
    def forgotten(experiment_id: str) -> None: ...

    app.include_router(stray)

    @app.get("/debug")
    def debug() -> None: ...

    assert unguarded(app) == [
        "POST /api/v1/experiments/{experiment_id}/forgotten: 0 permissions",
        "GET /debug: public",
    ]


def test_the_api_router_mounts_authentication_once() -> None:
    router = api_router()
    # Authentication first; then the caller's name is bound for the audit records.
    assert [d.dependency for d in router.dependencies] == [authenticate, bind_audit_actor]

"""The prediction-log and monitor routes each name the permission their issue says, read
off the app itself: a route that drifted to a weaker one (a reader changing monitors, a
write route guarded by a read permission) fails here by name."""

from __future__ import annotations

from pathlib import Path

from access.test_routes import app_routes, calls, dependant_of, is_api
from keel.config import Settings
from keel.server.app import create_app
from keel.server.auth import Guard

EXPECTED = {
    ("PUT", "/api/v1/predictions/deployments/{deployment}/files/{name}"): "deployment:predict",
    ("PUT", "/api/v1/predictions/deployments/{deployment}/feedback/{name}"): "deployment:predict",
    ("GET", "/api/v1/predictions/deployments/{deployment}/rows"): "deployment:read",
    ("GET", "/api/v1/predictions/{prediction_id}"): "deployment:read",
    ("GET", "/api/v1/predictions/{prediction_id}/lineage"): "deployment:read",
    ("POST", "/api/v1/monitors"): "monitor:write",
    ("GET", "/api/v1/monitors"): "monitor:read",
    ("GET", "/api/v1/monitors/{name}"): "monitor:read",
    ("DELETE", "/api/v1/monitors/{name}"): "monitor:write",
    ("POST", "/api/v1/monitors/{name}/run"): "monitor:write",
    ("GET", "/api/v1/monitors/{name}/results"): "monitor:read",
    ("GET", "/api/v1/alerts"): "monitor:read",
    ("GET", "/api/v1/events"): "monitor:read",
}


def guards(tmp_path: Path) -> dict[tuple[str, str], Guard]:
    app = create_app(Settings(home=tmp_path))
    found = {}
    for route in app_routes(app):
        if not is_api(route):
            continue
        (guard,) = [c for c in calls(dependant_of(route)) if isinstance(c, Guard)]
        for method in route.methods - {"HEAD"}:
            found[(method, route.path)] = guard
    return found


def test_each_new_route_names_its_permission(tmp_path: Path) -> None:
    found = guards(tmp_path)
    named = {key: found[key].permission.name for key in EXPECTED if key in found}
    assert named == EXPECTED
    new = {k for k in found if k[1].startswith(("/api/v1/predictions", "/api/v1/monitors"))}
    assert new == {
        k for k in EXPECTED if k[1].startswith(("/api/v1/predictions", "/api/v1/monitors"))
    }


def test_prediction_routes_judge_the_deployment_they_touch(tmp_path: Path) -> None:
    """Their guard only asks for the role on some project; the route then checks the
    deployment it reads or writes (the project of the deployment once deployments have
    projects), before it reads a body: tested through a server in
    test_prediction_log_attacks.py. A guard on the default project alone would let a
    reader of one project read another's log."""
    found = guards(tmp_path)
    for key in EXPECTED:
        if key[1].startswith("/api/v1/predictions"):
            assert found[key].anywhere, key
            assert not found[key].from_body, key
        else:  # monitors belong to no project: the default one's role
            assert not found[key].anywhere and not found[key].from_body, key


def test_writing_monitors_needs_more_than_reading_them() -> None:
    from keel.access.permissions import permission
    from keel.entities.access import Role

    assert permission("monitor:write").role == Role.MAINTAINER
    assert permission("monitor:read").role == Role.READER
    assert permission("deployment:read").role == Role.READER
    assert permission("deployment:predict").role == Role.READER

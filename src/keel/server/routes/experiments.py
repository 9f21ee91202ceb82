"""``/api/v1/experiments``"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from keel.access.permissions import permission
from keel.entities import ViewType
from keel.errors import InvalidArgument, NotFound
from keel.server.auth import Caller, requires
from keel.server.deps import StoreDep
from keel.server.responses import JSON
from keel.wire.experiments import (
    ExperimentCreate,
    ExperimentId,
    ExperimentList,
    ExperimentPublic,
    ExperimentTag,
    experiment_to_dict,
)

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.post("", response_model=ExperimentId, status_code=201)
def create_experiment(
    body: ExperimentCreate,
    store: StoreDep,
    request: Request,
    caller: Annotated[Caller, requires("experiment:write", from_body=True)],
) -> JSON:
    """Needs ``experiment:write`` on the project it is made in."""
    if body.project is None:
        caller.check_default("experiment:write")
    elif not caller.open:
        project = request.app.state.access.get_project(body.project)
        caller.check(permission("experiment:write"), project.id)
    if body.artifact_location is not None:
        raise InvalidArgument(
            "artifact_location: the server places artifacts under its own root; leave it out"
        )
    experiment_id = store.create_experiment(body.name, None, body.tags, project=body.project)
    return JSON({"experiment_id": experiment_id}, status_code=201)


@router.get("", response_model=ExperimentList)
def list_experiments(
    store: StoreDep,
    caller: Annotated[Caller, requires("experiment:read", from_body=True)],
    view: Literal["active", "deleted", "all"] = "active",
) -> JSON:
    """The experiments of the projects the caller may read."""
    found = store.search_experiments(ViewType(view))
    found = caller.visible("experiment:read", "experiment", found, lambda e: e.experiment_id)
    return JSON({"experiments": [experiment_to_dict(e) for e in found]})


@router.get("/by-name", response_model=ExperimentPublic)
def get_experiment_by_name(
    store: StoreDep,
    caller: Annotated[Caller, requires("experiment:read", from_body=True)],
    name: str = Query(),
) -> JSON:
    found = store.get_experiment_by_name(name)
    if found is None:
        caller.check_default("experiment:read")  # only readers learn that it is not there
        raise NotFound(f"experiment {name!r}: no such experiment")
    caller.check_resources("experiment:read", "experiment", [found.experiment_id])
    return JSON(experiment_to_dict(found))


@router.get(
    "/{experiment_id}", dependencies=[requires("experiment:read")], response_model=ExperimentPublic
)
def get_experiment(experiment_id: str, store: StoreDep) -> JSON:
    return JSON(experiment_to_dict(store.get_experiment(experiment_id)))


@router.delete("/{experiment_id}", dependencies=[requires("experiment:delete")], status_code=204)
def delete_experiment(experiment_id: str, store: StoreDep) -> None:
    store.delete_experiment(experiment_id)


@router.post(
    "/{experiment_id}/restore", dependencies=[requires("experiment:delete")], status_code=204
)
def restore_experiment(experiment_id: str, store: StoreDep) -> None:
    store.restore_experiment(experiment_id)


@router.put("/{experiment_id}/tags", dependencies=[requires("experiment:write")], status_code=204)
def set_experiment_tag(experiment_id: str, body: ExperimentTag, store: StoreDep) -> None:
    store.set_experiment_tag(experiment_id, body.key, body.value)

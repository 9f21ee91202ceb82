"""``/api/v1/registered-models/{name}/versions``: versions, their tags and checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from keel.server.auth import Caller, requires
from keel.server.deps import ActorDep, RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import CheckCreate, CheckList, CheckPublic, check_to_dict
from keel.wire.models import (
    ModelVersionCreate,
    ModelVersionPagePublic,
    ModelVersionPublic,
    ModelVersionUpdate,
    RegistryTag,
    version_page_to_dict,
    version_to_dict,
)

router = APIRouter(prefix="/registered-models/{name}/versions", tags=["model versions"])


@router.post("", response_model=ModelVersionPublic, status_code=201)
def create_model_version(
    name: str,
    body: ModelVersionCreate,
    registry: RegistryDep,
    actor: ActorDep,
    caller: Annotated[Caller, requires("model:write", from_body=True)],
) -> JSON:
    """Register the model at ``source`` as the next version, PENDING_REVIEW. The source
    must be ``runs:/<run_id>/<path>`` where the run has ``<path>/keel-model.json``; the
    version's digest and signature are derived from that file as stored. Needs
    ``model:write`` on the model's project (for a model it creates, on ``project``) and
    ``run:read`` on the source run's: a version must not make another project's files
    readable."""
    if body.create_model and body.project is not None and not caller.open:
        assert caller.auth is not None
        if caller.auth.store.project_of("model", name) is None:  # a model it would create
            caller.check_in_project("model:write", body.project)
        else:  # the store refuses another project (409); the model's own is judged here
            caller.check_resources("model:write", "model", [name])
    else:
        caller.check_resources("model:write", "model", [name])
    if not caller.open:
        from keel.errors import InvalidArgument
        from keel.uri import parse_run_artifact_uri

        try:
            source_run: str | None = parse_run_artifact_uri(body.source).run_id
        except InvalidArgument:  # the registry refuses it below, with its own message
            source_run = None
        if source_run is not None:
            caller.check_resources("run:read", "run", [source_run])
    found = registry.create_model_version(
        name,
        body.source,
        run_id=body.run_id,
        description=body.description,
        parent_version=body.parent_version,
        tags=body.tags,
        create_model=body.create_model,
        actor=actor,
        project=body.project,
    )
    return JSON(version_to_dict(found), status_code=201)


@router.get("", dependencies=[requires("model:read")], response_model=ModelVersionPagePublic)
def search_model_versions(
    name: str,
    registry: RegistryDep,
    status: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> JSON:
    """The model's versions, newest first."""
    page = registry.search_model_versions(
        name, status=status, max_results=max_results, page_token=page_token
    )
    return JSON(version_page_to_dict(page))


@router.get("/{version}", dependencies=[requires("model:read")], response_model=ModelVersionPublic)
def get_model_version(name: str, version: int, registry: RegistryDep) -> JSON:
    return JSON(version_to_dict(registry.get_model_version(name, version)))


@router.patch(
    "/{version}", dependencies=[requires("model:write")], response_model=ModelVersionPublic
)
def update_model_version(
    name: str, version: int, body: ModelVersionUpdate, registry: RegistryDep, actor: ActorDep
) -> JSON:
    found = registry.update_model_version(
        name, version, description=body.description, status=body.status, actor=actor
    )
    return JSON(version_to_dict(found))


@router.put("/{version}/tags", dependencies=[requires("model:write")], status_code=204)
def set_model_version_tag(
    name: str, version: int, body: RegistryTag, registry: RegistryDep, actor: ActorDep
) -> None:
    registry.set_model_version_tag(name, version, body.key, body.value, actor=actor)


@router.delete("/{version}/tags", dependencies=[requires("model:write")], status_code=204)
def delete_model_version_tag(
    name: str, version: int, registry: RegistryDep, actor: ActorDep, key: str = Query()
) -> None:
    registry.delete_model_version_tag(name, version, key, actor=actor)


@router.post(
    "/{version}/checks",
    dependencies=[requires("model:review")],
    response_model=CheckPublic,
    status_code=201,
)
def record_check(
    name: str, version: int, body: CheckCreate, registry: RegistryDep, actor: ActorDep
) -> JSON:
    """Record one result of a named check; the latest result of each check counts."""
    found = registry.record_check(
        name, version, body.check, body.passed, details=body.details, actor=actor
    )
    return JSON(check_to_dict(found), status_code=201)


@router.get("/{version}/checks", dependencies=[requires("model:read")], response_model=CheckList)
def list_checks(name: str, version: int, registry: RegistryDep) -> JSON:
    return JSON({"checks": [check_to_dict(c) for c in registry.list_checks(name, version)]})

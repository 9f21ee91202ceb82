"""``/api/v1/registered-models``: models, their tags, aliases and alias policies (their
versions, promotion requests and the audit log have routers of their own).

The acting user is the ``X-Keel-User`` header (``anonymous`` without one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from keel.entities.registry import RegisteredModelPage
from keel.server.auth import Caller, requires
from keel.server.deps import ActorDep, RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import (
    AliasPolicyList,
    AliasPolicyPublic,
    AliasPolicySet,
    AliasSet,
    policy_to_dict,
)
from keel.wire.models import (
    ModelVersionPublic,
    RegisteredModelCreate,
    RegisteredModelPagePublic,
    RegisteredModelPublic,
    RegisteredModelUpdate,
    RegistryTag,
    model_page_to_dict,
    model_to_dict,
    version_to_dict,
)

router = APIRouter(prefix="/registered-models", tags=["registered models"])


@router.post(
    "",
    response_model=RegisteredModelPublic,
    status_code=201,
)
def create_registered_model(
    body: RegisteredModelCreate,
    registry: RegistryDep,
    actor: ActorDep,
    caller: Annotated[Caller, requires("model:write", from_body=True)],
) -> JSON:
    """Needs ``model:write`` on the project it is made in (``project``, else default)."""
    caller.check_in_project("model:write", body.project)
    found = registry.create_registered_model(
        body.name, description=body.description, tags=body.tags, actor=actor, project=body.project
    )
    return JSON(model_to_dict(found), status_code=201)


@router.get("", response_model=RegisteredModelPagePublic)
def search_registered_models(
    registry: RegistryDep,
    caller: Annotated[Caller, requires("model:read", from_body=True)],
    name_like: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> JSON:
    """Models by name; ``name_like`` is a case-insensitive LIKE pattern (``%``, ``_``).
    Only those of projects the caller may read: a page may hold fewer than
    ``max_results`` and still have a next one."""
    page = registry.search_registered_models(
        name_like, max_results=max_results, page_token=page_token
    )
    models = caller.visible("model:read", "model", page.models, lambda m: m.name)
    return JSON(model_page_to_dict(RegisteredModelPage(models, page.token)))


@router.get("/{name}", dependencies=[requires("model:read")], response_model=RegisteredModelPublic)
def get_registered_model(name: str, registry: RegistryDep) -> JSON:
    return JSON(model_to_dict(registry.get_registered_model(name)))


@router.patch(
    "/{name}", dependencies=[requires("model:write")], response_model=RegisteredModelPublic
)
def update_registered_model(
    name: str, body: RegisteredModelUpdate, registry: RegistryDep, actor: ActorDep
) -> JSON:
    found = registry.update_registered_model(name, description=body.description, actor=actor)
    return JSON(model_to_dict(found))


@router.delete("/{name}", status_code=204)
def delete_registered_model(
    name: str,
    registry: RegistryDep,
    actor: ActorDep,
    caller: Annotated[Caller, requires("model:delete")],
) -> None:
    """Delete the model and its versions; refused (409) while any alias is set."""
    registry.delete_registered_model(name, actor=actor)
    if caller.auth is not None:  # the name may be taken again, in another project
        caller.auth.forget("model", name)


@router.put("/{name}/tags", dependencies=[requires("model:write")], status_code=204)
def set_registered_model_tag(
    name: str, body: RegistryTag, registry: RegistryDep, actor: ActorDep
) -> None:
    registry.set_registered_model_tag(name, body.key, body.value, actor=actor)


@router.delete("/{name}/tags", dependencies=[requires("model:write")], status_code=204)
def delete_registered_model_tag(
    name: str, registry: RegistryDep, actor: ActorDep, key: str = Query()
) -> None:
    registry.delete_registered_model_tag(name, key, actor=actor)


@router.put("/{name}/aliases/{alias}", dependencies=[requires("model:write")], status_code=204)
def set_alias(
    name: str, alias: str, body: AliasSet, registry: RegistryDep, actor: ActorDep
) -> None:
    """Point the alias at a version in one step. With a policy on the alias, every
    required check must have passed for the version (else 409 naming those that did not)."""
    registry.set_alias(name, alias, body.version, actor=actor)


@router.delete("/{name}/aliases/{alias}", dependencies=[requires("model:write")], status_code=204)
def delete_alias(name: str, alias: str, registry: RegistryDep, actor: ActorDep) -> None:
    registry.delete_alias(name, alias, actor=actor)


@router.get(
    "/{name}/aliases/{alias}",
    dependencies=[requires("model:read")],
    response_model=ModelVersionPublic,
)
def get_model_version_by_alias(name: str, alias: str, registry: RegistryDep) -> JSON:
    return JSON(version_to_dict(registry.get_model_version_by_alias(name, alias)))


@router.put(
    "/{name}/alias-policies/{alias}",
    dependencies=[requires("model:review")],
    response_model=AliasPolicyPublic,
)
def set_alias_policy(
    name: str, alias: str, body: AliasPolicySet, registry: RegistryDep, actor: ActorDep
) -> JSON:
    found = registry.set_alias_policy(name, alias, body.required_checks, actor=actor)
    return JSON(policy_to_dict(found))


@router.get(
    "/{name}/alias-policies", dependencies=[requires("model:read")], response_model=AliasPolicyList
)
def get_alias_policies(name: str, registry: RegistryDep) -> JSON:
    return JSON({"policies": [policy_to_dict(p) for p in registry.get_alias_policies(name)]})

"""Registered models and their versions on the wire: ``/api/v1/registered-models`` and
``.../{name}/versions``. The acting user is never in a body: it is the ``X-Keel-User``
header."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keel.entities.registry import (
    ModelVersion,
    ModelVersionPage,
    ModelVersionStatus,
    RegisteredModel,
    RegisteredModelPage,
)
from keel.wire.base import Strict

VersionStatus = Literal["PENDING_REVIEW", "APPROVED", "REJECTED", "ARCHIVED"]


class RegisteredModelCreate(Strict):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    project: str | None = Field(
        default=None,
        description="The project to make it in (needs model:write there); default: default.",
    )


class RegisteredModelUpdate(Strict):
    description: str


class RegistryTag(Strict):
    key: str
    value: str


class RegisteredModelPublic(BaseModel):
    name: str
    description: str
    tags: dict[str, str]
    created: int
    updated: int
    aliases: dict[str, int] = Field(description="alias -> version")


class RegisteredModelPagePublic(BaseModel):
    models: list[RegisteredModelPublic]
    next_page_token: str | None


class ModelVersionCreate(Strict):
    """The version's ``content_hash`` and ``signature`` are not sent: the server derives
    them from the package's manifest as stored (a body naming them is refused)."""

    source: str = Field(description="runs:/<run_id>/<path>, a folder holding keel-model.json")
    run_id: str | None = Field(default=None, description="If given, the run named in source.")
    description: str = ""
    parent_version: StrictInt | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    create_model: StrictBool = Field(
        default=False,
        description="Create the registered model first if there is none, in the same "
        "transaction; otherwise an unknown model is 404.",
    )
    project: str | None = Field(
        default=None,
        description="With create_model: the project a new model is made in (needs "
        "model:write there). An existing model in another project is 409.",
    )


class ModelVersionUpdate(Strict):
    description: str | None = None
    status: VersionStatus | None = Field(
        default=None,
        description="ARCHIVED, or PENDING_REVIEW to restore or resubmit; APPROVED and "
        "REJECTED are reached by deciding a promotion request.",
    )


class ModelVersionPublic(BaseModel):
    name: str
    version: int
    source: str
    run_id: str
    content_hash: str = Field(
        description="blake3:<hex>, the BLAKE3 digest of the package's keel-model.json as "
        "stored, derived by the server when the version was registered."
    )
    status: VersionStatus
    description: str
    tags: dict[str, str]
    signature: str | None = Field(description="JSON text, from the stored manifest.")
    parent_version: int | None
    created: int
    updated: int
    created_by: str
    aliases: list[str]
    approved_digest: str | None = Field(
        default=None,
        description="The content_hash, once approved through a promotion to an alias "
        "guarded by a policy; what KEEL_TRUSTED_MODEL_SOURCES' models:/ entries trust.",
    )


class ModelVersionPagePublic(BaseModel):
    versions: list[ModelVersionPublic]
    next_page_token: str | None


def model_to_dict(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "tags": m.tags,
        "created": m.created,
        "updated": m.updated,
        "aliases": m.aliases,
    }


def model_from_dict(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        description=d.get("description") or "",
        tags=dict(d.get("tags") or {}),
        created=d["created"],
        updated=d["updated"],
        aliases={str(k): int(v) for k, v in (d.get("aliases") or {}).items()},
    )


def model_page_to_dict(page: RegisteredModelPage) -> dict[str, Any]:
    return {
        "models": [model_to_dict(m) for m in page.models],
        "next_page_token": page.next_page_token,
    }


def model_page_from_dict(d: dict[str, Any]) -> RegisteredModelPage:
    return RegisteredModelPage([model_from_dict(m) for m in d["models"]], d.get("next_page_token"))


def version_to_dict(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "source": v.source,
        "run_id": v.run_id,
        "content_hash": v.content_hash,
        "status": v.status.value,
        "description": v.description,
        "tags": v.tags,
        "signature": v.signature,
        "parent_version": v.parent_version,
        "created": v.created,
        "updated": v.updated,
        "created_by": v.created_by,
        "aliases": v.aliases,
        "approved_digest": v.approved_digest,
    }


def version_from_dict(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        source=d["source"],
        run_id=d["run_id"],
        content_hash=d["content_hash"],
        status=ModelVersionStatus(d["status"]),
        description=d.get("description") or "",
        tags=dict(d.get("tags") or {}),
        signature=d.get("signature"),
        parent_version=d.get("parent_version"),
        created=d["created"],
        updated=d["updated"],
        created_by=d["created_by"],
        aliases=list(d.get("aliases") or []),
        approved_digest=d.get("approved_digest"),
    )


def version_page_to_dict(page: ModelVersionPage) -> dict[str, Any]:
    return {
        "versions": [version_to_dict(v) for v in page.versions],
        "next_page_token": page.next_page_token,
    }


def version_page_from_dict(d: dict[str, Any]) -> ModelVersionPage:
    return ModelVersionPage([version_from_dict(v) for v in d["versions"]], d.get("next_page_token"))

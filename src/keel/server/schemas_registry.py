"""Wire schemas of the model registry (pydantic, for validation and the OpenAPI document).
``XCreate``/``XUpdate`` in, ``XPublic`` out; responses are built by
``keel.entities.registry_codec``. The acting user is never in a body: it is the
``X-Keel-User`` header."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keel.server.schemas import Strict

VersionStatus = Literal["PENDING_REVIEW", "APPROVED", "REJECTED", "ARCHIVED"]
RequestState = Literal["OPEN", "APPROVED", "REJECTED", "CANCELLED"]


class RegisteredModelCreate(Strict):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


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


class ModelVersionPagePublic(BaseModel):
    versions: list[ModelVersionPublic]
    next_page_token: str | None


class AliasSet(Strict):
    version: StrictInt


class AliasPolicySet(Strict):
    required_checks: list[str] = Field(description="Empty lifts the guard.")


class AliasPolicyPublic(BaseModel):
    name: str
    alias: str
    required_checks: list[str]


class AliasPolicyList(BaseModel):
    policies: list[AliasPolicyPublic]


class CheckCreate(Strict):
    check: str
    passed: StrictBool
    details: dict[str, Any] | None = None


class CheckPublic(BaseModel):
    name: str
    version: int
    check: str
    passed: bool
    details: dict[str, Any] | None
    created: int
    created_by: str


class CheckList(BaseModel):
    checks: list[CheckPublic]


class PromotionRequestCreate(Strict):
    version: StrictInt
    alias: str


class PromotionDecision(Strict):
    approve: StrictBool
    comment: str | None = None


class PromotionRequestPublic(BaseModel):
    id: int
    name: str
    version: int
    alias: str
    requested_by: str
    state: RequestState
    reviewer: str | None
    comment: str | None
    created: int
    decided: int | None


class PromotionRequestList(BaseModel):
    requests: list[PromotionRequestPublic]


class AuditRecordPublic(BaseModel):
    id: int
    at: int
    actor: str
    action: str
    name: str
    version: int | None
    alias: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPagePublic(BaseModel):
    records: list[AuditRecordPublic]
    next_page_token: str | None

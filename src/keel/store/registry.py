"""The model registry store: one interface, whichever engine is behind it.

``SqlRegistryStore`` (SQLite, PostgreSQL) and ``RestRegistryStore`` (a ``keel server``)
both implement :class:`RegistryStore`. Every method that changes something takes the
acting user as ``actor`` and writes an audit record in the same transaction as the change;
audit records are never changed or deleted.

Errors: a bad name, value or source is ``InvalidArgument``; an unknown model, version,
alias, tag or request is ``NotFound``; a taken name is ``AlreadyExists``; a change the
stored state forbids (an alias guarded by checks that have not passed, deleting a model
whose versions are aliased, deciding a closed request) is ``Conflict``; a reviewer deciding
their own request is ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from keel.entities.audit import ResourceType
from keel.entities.registry import (
    AliasPolicy,
    AuditAction,
    AuditPage,
    CheckResult,
    ModelVersion,
    ModelVersionPage,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
    RegisteredModelPage,
)


@runtime_checkable
class RegistryStore(Protocol):
    # registered models
    def create_registered_model(
        self,
        name: str,
        *,
        description: str = "",
        tags: dict[str, str] | None = None,
        actor: str,
        project: str | None = None,
    ) -> RegisteredModel:
        """A new model, in ``project`` (a project's name; by default ``default``)."""
        ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def search_registered_models(
        self,
        name_like: str | None = None,
        *,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RegisteredModelPage:
        """Models by name; ``name_like`` is a case-insensitive LIKE pattern (``%``, ``_``)."""
        ...

    def update_registered_model(
        self, name: str, *, description: str, actor: str
    ) -> RegisteredModel: ...
    def delete_registered_model(self, name: str, *, actor: str) -> None:
        """Delete a model and its versions; refused (Conflict) while an alias is set."""
        ...

    def set_registered_model_tag(self, name: str, key: str, value: str, *, actor: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str, *, actor: str) -> None: ...

    # versions
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str = "",
        parent_version: int | None = None,
        tags: dict[str, str] | None = None,
        create_model: bool = False,
        actor: str,
        project: str | None = None,
    ) -> ModelVersion:
        """Register the model at ``source`` (``runs:/<run_id>/<path>``, where the run has
        ``<path>/keel-model.json``) as the model's next version, PENDING_REVIEW. The
        version's ``content_hash`` and signature are derived from the manifest as stored,
        by the store itself (on a ``keel server``, by the server). With ``create_model``
        a model of that name is created first if there is none, in the same step, in
        ``project`` when one is named (an existing model named with another project is
        a ``Conflict``)."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def search_model_versions(
        self,
        name: str,
        *,
        status: ModelVersionStatus | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelVersionPage:
        """A model's versions, newest first."""
        ...

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        status: ModelVersionStatus | str | None = None,
        actor: str,
    ) -> ModelVersion: ...
    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, actor: str
    ) -> None: ...
    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, actor: str
    ) -> None: ...

    # aliases and their policies
    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> None:
        """Point ``alias`` at ``version`` in one step. An alias guarded by a policy is
        Forbidden here: it moves only by an approved promotion request, which needs every
        required check passed (latest result) for the version, else Conflict."""
        ...

    def delete_alias(self, name: str, alias: str, *, actor: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def set_alias_policy(
        self, name: str, alias: str, required_checks: Sequence[str], *, actor: str
    ) -> AliasPolicy:
        """Guard ``alias`` with checks; an empty list lifts the guard."""
        ...

    def get_alias_policies(self, name: str) -> list[AliasPolicy]: ...

    # checks
    def record_check(
        self,
        name: str,
        version: int,
        check: str,
        passed: bool,
        *,
        details: dict[str, Any] | None = None,
        actor: str,
    ) -> CheckResult: ...
    def list_checks(self, name: str, version: int) -> list[CheckResult]:
        """Every result recorded for the version, oldest first."""
        ...

    # promotion requests
    def create_promotion_request(
        self, name: str, version: int, alias: str, *, actor: str
    ) -> PromotionRequest: ...
    def get_promotion_request(self, request_id: int) -> PromotionRequest: ...
    def decide_promotion_request(
        self, request_id: int, *, approve: bool, reviewer: str, comment: str | None = None
    ) -> PromotionRequest:
        """Approve (move the alias, version APPROVED) or reject (version REJECTED unless
        already APPROVED) an OPEN request. The reviewer must not be the requester."""
        ...

    def cancel_promotion_request(self, request_id: int, *, actor: str) -> PromotionRequest:
        """Withdraw an OPEN request; only its requester may."""
        ...

    def list_promotion_requests(
        self,
        name: str | None = None,
        *,
        state: PromotionState | str | None = None,
        max_results: int = 100,
    ) -> list[PromotionRequest]:
        """Requests, newest first."""
        ...

    # audit
    def list_audit(
        self,
        name: str | None = None,
        *,
        resource_type: ResourceType | str | None = None,
        action: AuditAction | str | None = None,
        actor: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> AuditPage:
        """The audit log of every store (experiments, runs, models, datasets), oldest
        first; ``name`` is the resource's name or id, a model's unless ``resource_type``
        says otherwise; ``since`` (inclusive) and ``until`` (exclusive) in epoch ms."""
        ...

    def close(self) -> None: ...

"""``RegistryClient``: registry operations for one user, over any :class:`RegistryStore`.

Reached as ``keel.Client().registry``; the acting user (``KEEL_USER`` or the login name)
is recorded on every change in the audit trail.

>>> registry = keel.Client().registry                                  # doctest: +SKIP
>>> v = registry.register_model("runs:/<run_id>/model", "fraud")       # doctest: +SKIP
>>> registry.set_alias("fraud", "challenger", v.version)               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from keel.entities.registry import (
    AliasPolicy,
    AuditPage,
    CheckResult,
    ModelVersion,
    ModelVersionPage,
    PromotionRequest,
    RegisteredModel,
    RegisteredModelPage,
)
from keel.errors import InvalidArgument
from keel.store.registry import RegistryStore
from keel.uri import ModelUri, parse_model_uri, parse_run_artifact_uri

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.models import LoadedModel
    from keel.registry.evaluation_gate import ValidationReport
    from keel.store.backend import Backend


class RegistryClient:
    def __init__(
        self,
        backend: Backend,
        *,
        actor: str,
        settings: Settings,
        before_register: Callable[[], None] = lambda: None,
    ) -> None:
        """The registry of ``backend``, whose run, artifact and dataset readers give a
        card its lineage and the evaluation gate its model. ``before_register`` runs
        before a version is registered: the tracking client passes its ``flush``, as the
        run and its model may still be on their way."""
        self.backend = backend
        self.store: RegistryStore = backend.registry
        self.actor = actor
        self.settings = settings
        self._before_register = before_register

    # models and versions -------------------------------------------------------------

    def register_model(
        self,
        source: str,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        parent_version: int | None = None,
        project: str | None = None,
    ) -> ModelVersion:
        """Register the model package at ``source`` (``runs:/<run_id>/<path>``) as the next
        version of ``name`` (created if new, in ``project`` when one is named). The
        version records the run, the digest of the package's manifest and its signature
        (both derived by the store from the manifest as stored), and starts
        PENDING_REVIEW. An existing model named with another project is a ``Conflict``."""
        where = parse_run_artifact_uri(source)
        self._before_register()
        return self.store.create_model_version(
            name,
            str(where),
            run_id=where.run_id,
            description=description,
            parent_version=parent_version,
            tags=dict(tags or {}),
            create_model=True,  # one step, whether or not the model exists yet
            actor=self.actor,
            project=project,
        )

    def create_registered_model(
        self,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str | None = None,
    ) -> RegisteredModel:
        """A new, empty model, in ``project`` (a project's name; by default ``default``).
        Through a server it needs ``model:write`` on that project."""
        return self.store.create_registered_model(
            name, description=description, tags=dict(tags or {}), actor=self.actor, project=project
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(name)

    def search_registered_models(
        self, name_like: str | None = None, *, max_results: int = 100, page_token: str | None = None
    ) -> RegisteredModelPage:
        return self.store.search_registered_models(
            name_like, max_results=max_results, page_token=page_token
        )

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        return self.store.update_registered_model(name, description=description, actor=self.actor)

    def delete_registered_model(self, name: str) -> None:
        self.store.delete_registered_model(name, actor=self.actor)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self.store.set_registered_model_tag(name, key, str(value), actor=self.actor)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.store.delete_registered_model_tag(name, key, actor=self.actor)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self.store.get_model_version(name, version)

    def search_model_versions(
        self,
        name: str,
        *,
        status: str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelVersionPage:
        return self.store.search_model_versions(
            name, status=status, max_results=max_results, page_token=page_token
        )

    def update_model_version(
        self, name: str, version: int, *, description: str | None = None, status: str | None = None
    ) -> ModelVersion:
        return self.store.update_model_version(
            name, version, description=description, status=status, actor=self.actor
        )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self.store.set_model_version_tag(name, version, key, str(value), actor=self.actor)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        self.store.delete_model_version_tag(name, version, key, actor=self.actor)

    def resolve(self, uri: str | ModelUri) -> ModelVersion:
        """The version a ``models:/name/3``, ``models:/name@alias`` or
        ``models:/name/latest`` URI names."""
        from keel.registry.loading import resolve_model_uri

        parsed = parse_model_uri(uri) if isinstance(uri, str) else uri
        return resolve_model_uri(self.store, parsed)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """MLflow's ``get_latest_versions``: ``[the highest version]`` (empty for a model
        with none). Keel has no stages: pass none, and use aliases
        (``models:/name@champion``, :meth:`set_alias`) where MLflow used them."""
        if stages:
            raise InvalidArgument(
                f"stages {list(stages)!r}: Keel has no model stages (MLflow deprecated them); "
                "point an alias at a version instead (registry.set_alias(name, 'production', "
                "version), then load models:/<name>@production), or pass stages=None"
            )
        return list(self.store.search_model_versions(name, max_results=1))

    def load_model(
        self, uri: str, *, trust: bool = False, flavor: str | None = None
    ) -> LoadedModel:
        """Load the model a ``models:/`` (or ``runs:/``) URI names, its package's digest
        checked against the one recorded at registration."""
        from keel.registry.loading import ModelSource, load_model

        source = ModelSource(self.store, self.backend.artifacts)
        return load_model(uri, source, settings=self.settings, trust=trust, flavor=flavor)

    # aliases, checks, promotions -----------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` in one step; Forbidden for an alias a policy
        guards (it moves only by :meth:`request_promotion` and another user's
        :meth:`approve`)."""
        self.store.set_alias(name, alias, version, actor=self.actor)

    def delete_alias(self, name: str, alias: str) -> None:
        self.store.delete_alias(name, alias, actor=self.actor)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at (NotFound when it points nowhere)."""
        return self.store.get_model_version_by_alias(name, alias)

    def set_alias_policy(
        self, name: str, alias: str, required_checks: Sequence[str]
    ) -> AliasPolicy:
        return self.store.set_alias_policy(name, alias, list(required_checks), actor=self.actor)

    def get_alias_policies(self, name: str) -> list[AliasPolicy]:
        return self.store.get_alias_policies(name)

    def record_check(
        self,
        name: str,
        version: int,
        check: str,
        passed: bool,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        return self.store.record_check(
            name, version, check, passed, details=details, actor=self.actor
        )

    def list_checks(self, name: str, version: int) -> list[CheckResult]:
        return self.store.list_checks(name, version)

    def request_promotion(self, name: str, version: int, alias: str) -> PromotionRequest:
        return self.store.create_promotion_request(name, version, alias, actor=self.actor)

    def approve(self, request_id: int, comment: str | None = None) -> PromotionRequest:
        """Approve a promotion request (not your own): the alias moves, the version is
        APPROVED, in one transaction."""
        return self.store.decide_promotion_request(
            request_id, approve=True, reviewer=self.actor, comment=comment
        )

    def reject(self, request_id: int, comment: str | None = None) -> PromotionRequest:
        return self.store.decide_promotion_request(
            request_id, approve=False, reviewer=self.actor, comment=comment
        )

    def cancel(self, request_id: int) -> PromotionRequest:
        return self.store.cancel_promotion_request(request_id, actor=self.actor)

    def list_promotion_requests(
        self, name: str | None = None, *, state: str | None = None, max_results: int = 100
    ) -> list[PromotionRequest]:
        return self.store.list_promotion_requests(name, state=state, max_results=max_results)

    def list_audit(
        self,
        name: str | None = None,
        *,
        resource_type: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> AuditPage:
        """The audit log of the whole store (experiments, runs, models, datasets), oldest
        first: ``name`` is the resource's name or id, a model's unless ``resource_type``
        (``model``, ``experiment``, ``run``, ``dataset``) says otherwise; ``since``
        (inclusive) and ``until`` (exclusive) in epoch milliseconds."""
        return self.store.list_audit(
            name,
            resource_type=resource_type,
            action=action,
            actor=actor,
            since=since,
            until=until,
            max_results=max_results,
            page_token=page_token,
        )

    search_audit = list_audit

    # validation and model cards ------------------------------------------------------

    def validate(
        self,
        name: str,
        version: int,
        data: Any,
        target: str,
        *,
        baseline: str | int | None = "champion",
        metrics: Mapping[str, object] | None = None,
        max_latency_ms: float | None = None,
        task: Literal["classification", "regression"] = "classification",
        trust: bool = False,
    ) -> ValidationReport:
        """Check ``version`` against ``baseline`` on held-out ``data`` and record each
        check on the version (see :mod:`keel.registry.evaluation_gate`)."""
        from keel.registry.evaluation_gate import validate

        return validate(
            self,
            name,
            version,
            data,
            target,
            baseline=baseline,
            metrics=metrics,
            max_latency_ms=max_latency_ms,
            task=task,
            trust=trust,
        )

    def card(
        self, name: str, version: int, *, fmt: Literal["markdown", "html"] = "markdown"
    ) -> str:
        """The version's model card: lineage, signature, checks and reviews, as Markdown or
        a self-contained HTML page (see :mod:`keel.registry.card`)."""
        from keel.registry.card import card

        return card(self, name, version, fmt=fmt)

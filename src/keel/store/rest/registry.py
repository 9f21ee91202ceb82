"""``RestRegistryStore``: the :class:`RegistryStore` interface over ``keel server``.

The acting user travels in the ``X-Keel-User`` header (percent-encoded UTF-8); the server
records it in the audit log. Model names and aliases go into URL paths percent-encoded;
free-form values (tag keys, filters) go in query strings or bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

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
    check_alias,
    check_details,
)
from keel.entities.rules import check_actor, check_model_name, check_version
from keel.store.rest.http import Http
from keel.wire import routes
from keel.wire.governance import (
    audit_page_from_dict,
    check_from_dict,
    policy_from_dict,
    request_from_dict,
)
from keel.wire.models import (
    model_from_dict,
    model_page_from_dict,
    version_from_dict,
    version_page_from_dict,
)

USER_HEADER = "X-Keel-User"


class RestRegistryStore:
    def __init__(self, server: str | Http, *, timeout: float = 30.0) -> None:
        """``server``: a base URL, or the session another store of the same server uses."""
        self.http = server if isinstance(server, Http) else Http(server, timeout=timeout)
        self.base_url = self.http.base_url

    def close(self) -> None:
        self.http.close()

    # registered models ---------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str = "",
        tags: dict[str, str] | None = None,
        actor: str,
        project: str | None = None,
    ) -> RegisteredModel:
        body: dict[str, Any] = {"name": name, "description": description, "tags": tags or {}}
        if project is not None:  # left out otherwise: older servers refuse unknown fields
            body["project"] = project
        found = self.http.request(
            *routes.CREATE_REGISTERED_MODEL.at(), json=body, headers=_as(actor)
        )
        return model_from_dict(found)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return model_from_dict(self.http.request(*routes.GET_REGISTERED_MODEL.at(name=_name(name))))

    def search_registered_models(
        self,
        name_like: str | None = None,
        *,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RegisteredModelPage:
        params = _params(name_like=name_like, max_results=max_results, page_token=page_token)
        found = self.http.request(*routes.SEARCH_REGISTERED_MODELS.at(), params=params)
        return model_page_from_dict(found)

    def update_registered_model(
        self, name: str, *, description: str, actor: str
    ) -> RegisteredModel:
        found = self.http.request(
            *routes.UPDATE_REGISTERED_MODEL.at(name=_name(name)),
            json={"description": description},
            headers=_as(actor),
        )
        return model_from_dict(found)

    def delete_registered_model(self, name: str, *, actor: str) -> None:
        self.http.request(*routes.DELETE_REGISTERED_MODEL.at(name=_name(name)), headers=_as(actor))

    def set_registered_model_tag(self, name: str, key: str, value: str, *, actor: str) -> None:
        self.http.request(
            *routes.SET_REGISTERED_MODEL_TAG.at(name=_name(name)),
            json={"key": key, "value": value},
            headers=_as(actor),
        )

    def delete_registered_model_tag(self, name: str, key: str, *, actor: str) -> None:
        self.http.request(
            *routes.DELETE_REGISTERED_MODEL_TAG.at(name=_name(name)),
            params={"key": key},
            headers=_as(actor),
        )

    # versions ------------------------------------------------------------------------

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
        body: dict[str, Any] = {
            "source": source,
            "run_id": run_id,
            "description": description,
            "parent_version": parent_version,
            "tags": tags or {},
            "create_model": create_model,
        }
        if project is not None:
            body["project"] = project
        found = self.http.request(
            *routes.CREATE_MODEL_VERSION.at(name=_name(name)), json=body, headers=_as(actor)
        )
        return version_from_dict(found)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return version_from_dict(
            self.http.request(*routes.GET_MODEL_VERSION.at(name=_name(name), version=_ver(version)))
        )

    def search_model_versions(
        self,
        name: str,
        *,
        status: ModelVersionStatus | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelVersionPage:
        params = _params(status=status, max_results=max_results, page_token=page_token)
        found = self.http.request(*routes.SEARCH_MODEL_VERSIONS.at(name=_name(name)), params=params)
        return version_page_from_dict(found)

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        status: ModelVersionStatus | str | None = None,
        actor: str,
    ) -> ModelVersion:
        body = {"description": description, "status": None if status is None else str(status)}
        found = self.http.request(
            *routes.UPDATE_MODEL_VERSION.at(name=_name(name), version=_ver(version)),
            json=body,
            headers=_as(actor),
        )
        return version_from_dict(found)

    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, actor: str
    ) -> None:
        self.http.request(
            *routes.SET_MODEL_VERSION_TAG.at(name=_name(name), version=_ver(version)),
            json={"key": key, "value": value},
            headers=_as(actor),
        )

    def delete_model_version_tag(self, name: str, version: int, key: str, *, actor: str) -> None:
        self.http.request(
            *routes.DELETE_MODEL_VERSION_TAG.at(name=_name(name), version=_ver(version)),
            params={"key": key},
            headers=_as(actor),
        )

    # aliases and policies ------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> None:
        self.http.request(
            *routes.SET_ALIAS.at(name=_name(name), alias=_alias(alias)),
            json={"version": version},
            headers=_as(actor),
        )

    def delete_alias(self, name: str, alias: str, *, actor: str) -> None:
        self.http.request(
            *routes.DELETE_ALIAS.at(name=_name(name), alias=_alias(alias)),
            headers=_as(actor),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return version_from_dict(
            self.http.request(
                *routes.GET_MODEL_VERSION_BY_ALIAS.at(name=_name(name), alias=_alias(alias))
            )
        )

    def set_alias_policy(
        self, name: str, alias: str, required_checks: Sequence[str], *, actor: str
    ) -> AliasPolicy:
        found = self.http.request(
            *routes.SET_ALIAS_POLICY.at(name=_name(name), alias=_alias(alias)),
            json={"required_checks": list(required_checks)},
            headers=_as(actor),
        )
        return policy_from_dict(found)

    def get_alias_policies(self, name: str) -> list[AliasPolicy]:
        found = self.http.request(*routes.GET_ALIAS_POLICIES.at(name=_name(name)))
        return [policy_from_dict(p) for p in found["policies"]]

    # checks --------------------------------------------------------------------------

    def record_check(
        self,
        name: str,
        version: int,
        check: str,
        passed: bool,
        *,
        details: dict[str, Any] | None = None,
        actor: str,
    ) -> CheckResult:
        found = self.http.request(
            *routes.RECORD_CHECK.at(name=_name(name), version=_ver(version)),
            # Checked here too: orjson would send NaN as null rather than refuse it.
            json={"check": check, "passed": passed, "details": check_details(details)},
            headers=_as(actor),
        )
        return check_from_dict(found)

    def list_checks(self, name: str, version: int) -> list[CheckResult]:
        found = self.http.request(*routes.LIST_CHECKS.at(name=_name(name), version=_ver(version)))
        return [check_from_dict(c) for c in found["checks"]]

    # promotion requests --------------------------------------------------------------

    def create_promotion_request(
        self, name: str, version: int, alias: str, *, actor: str
    ) -> PromotionRequest:
        found = self.http.request(
            *routes.CREATE_PROMOTION_REQUEST.at(name=_name(name)),
            json={"version": version, "alias": alias},
            headers=_as(actor),
        )
        return request_from_dict(found)

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        return request_from_dict(
            self.http.request(*routes.GET_PROMOTION_REQUEST.at(request_id=_req(request_id)))
        )

    def decide_promotion_request(
        self, request_id: int, *, approve: bool, reviewer: str, comment: str | None = None
    ) -> PromotionRequest:
        found = self.http.request(
            *routes.DECIDE_PROMOTION_REQUEST.at(request_id=_req(request_id)),
            json={"approve": approve, "comment": comment},
            headers=_as(reviewer, "reviewer"),
        )
        return request_from_dict(found)

    def cancel_promotion_request(self, request_id: int, *, actor: str) -> PromotionRequest:
        found = self.http.request(
            *routes.CANCEL_PROMOTION_REQUEST.at(request_id=_req(request_id)), headers=_as(actor)
        )
        return request_from_dict(found)

    def list_promotion_requests(
        self,
        name: str | None = None,
        *,
        state: PromotionState | str | None = None,
        max_results: int = 100,
    ) -> list[PromotionRequest]:
        params = _params(name=name, state=state, max_results=max_results)
        found = self.http.request(*routes.LIST_PROMOTION_REQUESTS.at(), params=params)
        return [request_from_dict(p) for p in found["requests"]]

    # audit ---------------------------------------------------------------------------

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
        params = _params(
            name=name,
            resource_type=resource_type,
            action=action,
            actor=actor,
            since=since,
            until=until,
            max_results=max_results,
            page_token=page_token,
        )
        return audit_page_from_dict(self.http.request(*routes.LIST_AUDIT.at(), params=params))


def _as(actor: str, field: str = "actor") -> dict[str, str]:
    """The header naming who acts; percent-encoded so any name travels in ASCII."""
    return {USER_HEADER: quote(check_actor(actor, field), safe="")}


# Checked here as the server would, before they go into URL paths (where ``Route.path``
# percent-encodes them, dots included, so that a name like ``..`` is not a step up).


def _name(name: str) -> str:
    return check_model_name(name)


def _alias(alias: str) -> str:
    return check_alias(alias)


def _ver(version: int) -> int:
    return check_version(version)


def _req(request_id: int) -> int:
    return check_version(request_id, "request id")


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters, leaving out those not given; enums as their values."""
    return {k: str(v) if hasattr(v, "value") else v for k, v in values.items() if v is not None}

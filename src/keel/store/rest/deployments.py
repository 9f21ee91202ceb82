"""``RestDeploymentStore``: deployments through ``keel server`` (its routes apply the
rules, see ``keel.deployments.DeploymentService``). It reads as a
:class:`~keel.store.deployments.DeploymentReader` (what a model server polls) and changes
as :class:`~keel.store.deployments.DeploymentOperations`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from keel.entities.deployment import (
    Deployment,
    DeploymentRevision,
    TrafficPolicy,
    check_deployment_name,
)
from keel.store.rest.http import Http
from keel.wire import routes
from keel.wire.deployments import deployment_from_dict, revision_from_dict

USER_HEADER = "X-Keel-User"


class RestDeploymentStore:
    def __init__(self, server: str | Http, *, timeout: float = 30.0) -> None:
        """``server``: a base URL, or the session another store of the same server uses."""
        self.http = server if isinstance(server, Http) else Http(server, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    # reads -------------------------------------------------------------------------------

    def get_deployment(self, name: str) -> Deployment:
        found = self.http.request(*routes.GET_DEPLOYMENT.at(name=_name(name)))
        return deployment_from_dict(found)

    def list_deployments(self) -> list[Deployment]:
        found = self.http.request(*routes.LIST_DEPLOYMENTS.at())
        return [deployment_from_dict(d) for d in found["deployments"]]

    def deployment_history(self, name: str) -> list[DeploymentRevision]:
        found = self.http.request(*routes.DEPLOYMENT_HISTORY.at(name=_name(name)))
        return [revision_from_dict(r) for r in found["revisions"]]

    # changes -----------------------------------------------------------------------------

    def create_deployment(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        actor: str,
        description: str = "",
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> Deployment:
        body: dict[str, Any] = {
            "name": _name(name),
            "policy": policy.to_dict(),
            "description": description,
            "tags": dict(tags or {}),
        }
        if project is not None:
            body["project"] = project
        return self._send(routes.CREATE_DEPLOYMENT.at(), body, actor)

    def set_traffic(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        body = {"policy": policy.to_dict(), "expected_revision": expected_revision}
        return self._send(routes.SET_DEPLOYMENT_TRAFFIC.at(name=_name(name)), body, actor)

    def promote(
        self,
        name: str,
        model_uri: str | None = None,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        body = {"model_uri": model_uri, "expected_revision": expected_revision}
        return self._send(routes.PROMOTE_DEPLOYMENT.at(name=_name(name)), body, actor)

    def rollback(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        body = {"expected_revision": expected_revision}
        return self._send(routes.ROLLBACK_DEPLOYMENT.at(name=_name(name)), body, actor)

    def delete_deployment(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        params = {} if expected_revision is None else {"expected_revision": expected_revision}
        found = self.http.request(
            *routes.DELETE_DEPLOYMENT.at(name=_name(name)),
            params=params,
            headers=_acting(actor),
        )
        return deployment_from_dict(found)

    def _send(self, route: tuple[str, str], body: dict[str, Any], actor: str) -> Deployment:
        found = self.http.request(*route, json=body, headers=_acting(actor))
        return deployment_from_dict(found)


def _name(name: str) -> str:
    """Checked here too: a bad name is refused before a request, with the same message."""
    return check_deployment_name(name)


def _acting(actor: str) -> dict[str, str]:
    # Only an open server reads it; one with users acts as the token's principal.
    return {USER_HEADER: quote(actor, safe="")}

"""The deployment store: each deployment's traffic policy and every revision of it.

Two interfaces:

- :class:`DeploymentReader`: what a model server needs to follow a deployment (its
  current policy and revision), and what lists and history read. ``Backend.deployments``
  gives one for every tracking URI: the SQL store, or the REST store of a ``keel server``.
- :class:`DeploymentStore`: the SQL store's writes. Each is one transaction with its
  audit record and its row in the revision history. The rules of a change (the models
  exist, what promote and rollback mean) are :class:`keel.deployments.DeploymentService`'s,
  which every writer goes through: the server's routes and the local client alike.

Optimistic concurrency: a write given ``expected_revision`` is applied only if the
deployment is still at that revision, else ``Conflict`` naming both revisions; two writers
that read the same revision cannot both win.

Errors: a bad name, policy or revision is ``InvalidArgument``; an unknown deployment is
``NotFound``; a taken name is ``AlreadyExists``; a stale revision is ``Conflict``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from keel.entities.deployment import (
    Deployment,
    DeploymentAction,
    DeploymentRevision,
    TrafficPolicy,
)


@runtime_checkable
class DeploymentReader(Protocol):
    def get_deployment(self, name: str) -> Deployment:
        """The deployment as it is now, with its ``revision``."""
        ...

    def list_deployments(self) -> list[Deployment]:
        """Every deployment, by name."""
        ...

    def deployment_history(self, name: str) -> list[DeploymentRevision]:
        """Every revision of its policy, newest first."""
        ...


@runtime_checkable
class DeploymentStore(DeploymentReader, Protocol):
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
        """Revision 1, in ``project`` when one is named (else the default project)."""
        ...

    def write_policy(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        action: DeploymentAction,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        """The next revision with ``policy``, recorded as ``action``."""
        ...

    def delete_deployment(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        """Delete it and its history (the audit log keeps every change); returns it as it
        was."""
        ...


@runtime_checkable
class DeploymentOperations(DeploymentReader, Protocol):
    """What users do with deployments, their rules applied: ``DeploymentService`` (over a
    database) and ``RestDeploymentStore`` (through a ``keel server``, whose routes use the
    service) both offer it, so the client never asks which one it has."""

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
        """Revision 1; every target's model must exist and its alias resolve."""
        ...

    def set_traffic(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        """The next revision with ``policy`` (the same policy again changes nothing)."""
        ...

    def promote(
        self,
        name: str,
        model_uri: str | None = None,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        """``model_uri`` (a live or shadow target; default: the canary) takes all live
        traffic; the other live targets go, shadows stay."""
        ...

    def rollback(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        """Back to the policy before the last change, as a new revision."""
        ...

    def delete_deployment(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment: ...

"""``DeploymentClient``: deployments from Python, the same over a database or a server.

>>> deployments = keel.Client().deployments                                # doctest: +SKIP
>>> deployments.create("fraud-api", "models:/fraud@champion")             # doctest: +SKIP
>>> deployments.set_traffic("fraud-api", {"models:/fraud/3": 90, "models:/fraud/4": 10})
>>> deployments.promote("fraud-api")              # models:/fraud/4 takes all traffic
>>> deployments.rollback("fraud-api")             # back to 90/10, as a new revision
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from keel.entities.deployment import (
    Deployment,
    DeploymentRevision,
    Target,
    TrafficPolicy,
    weighted_policy,
)
from keel.entities.registry import ModelVersion
from keel.errors import InvalidArgument, NotFound
from keel.store.deployments import DeploymentOperations
from keel.store.registry import RegistryStore

if TYPE_CHECKING:
    from keel.store.backend import Backend

_KEEP: object = object()


class DeploymentClient:
    """Every change goes through ``operations``: the service over a database, or a
    server's routes (which use the service); ``registry`` resolves targets for display."""

    def __init__(
        self, operations: DeploymentOperations, registry: RegistryStore, *, actor: str
    ) -> None:
        self.operations = operations
        self.registry = registry
        self.actor = actor

    def create(
        self,
        name: str,
        model_uri: str | None = None,
        *,
        policy: TrafficPolicy | None = None,
        description: str = "",
        sticky_key: str | None = None,
        sampling: float = 1.0,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> Deployment:
        """A deployment sending all traffic to ``model_uri``, or following ``policy``
        (then ``sticky_key`` and ``sampling`` are the policy's own)."""
        if (model_uri is None) == (policy is None):
            raise InvalidArgument("create: give either model_uri or policy, not both or neither")
        if policy is None:
            assert model_uri is not None
            policy = TrafficPolicy(
                (Target(model_uri, 100),), sticky_key=sticky_key, sampling=sampling
            )
        return self.operations.create_deployment(
            name,
            policy,
            actor=self.actor,
            description=description,
            tags=tags,
            project=project,
        )

    def get(self, name: str) -> Deployment:
        return self.operations.get_deployment(name)

    def list(self) -> list[Deployment]:
        return self.operations.list_deployments()

    def history(self, name: str) -> builtins.list[DeploymentRevision]:
        """Every revision of its policy, newest first."""
        return self.operations.deployment_history(name)

    def set_traffic(
        self,
        name: str,
        policy: TrafficPolicy | Mapping[str, int],
        *,
        shadows: Sequence[str] = (),
        sticky_key: str | object | None = _KEEP,
        sampling: float | object = _KEEP,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Set the policy: a :class:`TrafficPolicy`, or ``{model_uri: weight}`` plus
        ``shadows`` (then the sticky key and sampling stay as they are unless given).
        With ``expected_revision`` it applies only if the deployment is still there."""
        if isinstance(policy, TrafficPolicy):
            if shadows or sticky_key is not _KEEP or sampling is not _KEEP:
                raise InvalidArgument(
                    "set_traffic: with a TrafficPolicy, give shadows, sticky_key and "
                    "sampling in the policy itself"
                )
            chosen = policy
        else:
            if sticky_key is _KEEP or sampling is _KEEP:
                current = self.get(name).policy
                sticky_key = current.sticky_key if sticky_key is _KEEP else sticky_key
                sampling = current.sampling if sampling is _KEEP else sampling
            if not isinstance(policy, Mapping):
                raise InvalidArgument(
                    "traffic: must be a TrafficPolicy or {model_uri: weight}, "
                    f"got {type(policy).__name__}"
                )
            chosen = weighted_policy(
                dict(policy),
                shadows=tuple(shadows),
                sticky_key=sticky_key,  # type: ignore[arg-type]
                sampling=sampling,  # type: ignore[arg-type]
            )
        return self.operations.set_traffic(
            name, chosen, actor=self.actor, expected_revision=expected_revision
        )

    def promote(
        self, name: str, model_uri: str | None = None, *, expected_revision: int | None = None
    ) -> Deployment:
        """``model_uri`` (a live or shadow target) takes 100% of live traffic; the other
        live targets go, shadows stay. Default: the canary, the live target that is not
        the largest."""
        return self.operations.promote(
            name, model_uri, actor=self.actor, expected_revision=expected_revision
        )

    def rollback(self, name: str, *, expected_revision: int | None = None) -> Deployment:
        """Back to the policy before the last change, as a new revision (rolling back
        twice returns to where the first rollback started)."""
        return self.operations.rollback(name, actor=self.actor, expected_revision=expected_revision)

    def delete(self, name: str, *, expected_revision: int | None = None) -> Deployment:
        """Delete it and its history (the audit log keeps every change)."""
        return self.operations.delete_deployment(
            name, actor=self.actor, expected_revision=expected_revision
        )

    def resolve(self, deployment: Deployment) -> dict[str, ModelVersion | None]:
        """The version each target names now (``None`` where it no longer resolves)."""
        from keel.deployments.service import resolve_target

        found: dict[str, ModelVersion | None] = {}
        for target in deployment.policy.targets:
            try:
                found[target.model_uri] = resolve_target(self.registry, target.model_uri)
            except NotFound:
                found[target.model_uri] = None
        return found


def open_deployments(backend: Backend, *, actor: str) -> DeploymentClient:
    """The client for a backend's deployments: the service over its database, or its
    server's routes."""
    operations: DeploymentOperations
    if backend.remote:
        operations = backend.deployments_api
    else:
        from keel.deployments.service import DeploymentService

        operations = DeploymentService(backend.deployment_store, backend.registry)
    return DeploymentClient(operations, backend.registry, actor=actor)

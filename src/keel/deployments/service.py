"""``DeploymentService``: the rules of a deployment change, applied whoever calls.

The server's routes and the local client (over a database) both change deployments here;
the REST client reaches it through the server. A change:

- checks every target of the new policy against the registry: the model exists, a
  pinned version exists, an alias resolves (naming the target that does not);
- computes promote and rollback from the revision it read, and writes the result only
  if the deployment is still at that revision (else ``Conflict`` naming both): a promote
  decided on a state that changed meanwhile is refused, not applied to the new state;
- is one transaction with its revision row and its audit record (the store's).

>>> service = DeploymentService(backend.deployment_store, backend.registry)  # doctest: +SKIP
>>> service.promote("fraud-api", actor="alice")                              # doctest: +SKIP
"""

from __future__ import annotations

from keel.entities.deployment import (
    Deployment,
    DeploymentAction,
    DeploymentRevision,
    TrafficPolicy,
    check_deployment_name,
    check_revision,
    promoted,
)
from keel.entities.registry import ModelVersion
from keel.errors import Conflict, InvalidArgument, NotFound
from keel.store.deployments import DeploymentStore
from keel.store.registry import RegistryStore
from keel.uri import ModelUri, parse_model_uri


class DeploymentService:
    """Deployments over ``store`` (a database's), their targets checked in ``registry``."""

    def __init__(self, store: DeploymentStore, registry: RegistryStore) -> None:
        self.store = store
        self.registry = registry

    # reads -------------------------------------------------------------------------------

    def get_deployment(self, name: str) -> Deployment:
        return self.store.get_deployment(name)

    def list_deployments(self) -> list[Deployment]:
        return self.store.list_deployments()

    def deployment_history(self, name: str) -> list[DeploymentRevision]:
        return self.store.deployment_history(name)

    def resolve(self, model_uri: str) -> ModelVersion:
        """The version a target's URI names now (an alias followed)."""
        return resolve_target(self.registry, model_uri)

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
        check_deployment_name(name)
        self.check_targets(policy)
        return self.store.create_deployment(
            name, policy, actor=actor, description=description, tags=tags, project=project
        )

    def set_traffic(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        current = self._current(name, expected_revision)
        if policy == current.policy:
            return current  # nothing changes: no revision, no audit record
        self.check_targets(policy)
        return self.store.write_policy(
            name,
            policy,
            action=DeploymentAction.TRAFFIC,
            actor=actor,
            expected_revision=expected_revision,
        )

    def promote(
        self,
        name: str,
        model_uri: str | None = None,
        *,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        current = self._current(name, expected_revision)
        if model_uri is not None:
            parse_model_uri(model_uri)
        policy = promoted(current.policy, model_uri, f"deployment {name!r}")
        self.check_targets(policy)
        return self.store.write_policy(
            name,
            policy,
            action=DeploymentAction.PROMOTE,
            actor=actor,
            expected_revision=current.revision,
        )

    def rollback(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        current = self._current(name, expected_revision)
        history = self.store.deployment_history(name)
        if history[0].revision != current.revision:  # changed between the two reads
            raise Conflict(
                f"deployment {name!r}: read at revision {current.revision}, but it is at "
                f"revision {history[0].revision}; read it again and retry"
            )
        if len(history) < 2:
            raise Conflict(
                f"deployment {name!r}: revision {current.revision} is its first; there is "
                "no earlier policy to roll back to"
            )
        previous = history[1].policy
        self.check_targets(previous)
        return self.store.write_policy(
            name,
            previous,
            action=DeploymentAction.ROLLBACK,
            actor=actor,
            expected_revision=current.revision,
        )

    def delete_deployment(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        return self.store.delete_deployment(name, actor=actor, expected_revision=expected_revision)

    # the rules ---------------------------------------------------------------------------

    def check_targets(self, policy: TrafficPolicy) -> None:
        """``InvalidArgument`` naming every target whose model, version or alias is not
        in the registry."""
        if not isinstance(policy, TrafficPolicy):
            raise InvalidArgument(f"policy: must be a TrafficPolicy, got {type(policy).__name__}")
        problems: list[str] = []
        for target in policy.targets:
            try:
                resolve_target(self.registry, target.model_uri)
            except NotFound as exc:
                problems.append(f"{target.model_uri}: {exc.message}")
        if problems:
            raise InvalidArgument("traffic targets: " + "; ".join(problems))

    def _current(self, name: str, expected_revision: int | None) -> Deployment:
        check_deployment_name(name)
        if expected_revision is not None:
            check_revision(expected_revision)
        current = self.store.get_deployment(name)
        if expected_revision is not None and current.revision != expected_revision:
            raise Conflict(
                f"deployment {name!r}: expected revision {expected_revision}, but it is at "
                f"revision {current.revision}; read it again and retry"
            )
        return current


def resolve_target(registry: RegistryStore, model_uri: str) -> ModelVersion:
    """The version ``models:/name/3``, ``models:/name@alias`` or ``models:/name/latest``
    names now; ``NotFound`` saying which part is missing."""
    uri: ModelUri = parse_model_uri(model_uri)
    if uri.alias is not None:
        registry.get_registered_model(uri.name)  # "no such model" before "no such alias"
        return registry.get_model_version_by_alias(uri.name, uri.alias)
    if uri.latest:
        newest = registry.search_model_versions(uri.name, max_results=1)
        if not newest:
            registry.get_registered_model(uri.name)
            raise NotFound(f"model {uri.name!r}: has no versions, so {uri} names none")
        return newest[0]
    assert uri.version is not None
    return registry.get_model_version(uri.name, uri.version)

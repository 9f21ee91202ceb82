"""Deployments: named endpoints and their traffic policies (canary weights, shadows,
sticky A/B routing), changed atomically and audited; model servers follow them.

- :class:`DeploymentService`: the rules of every change (used by the server's routes and
  the local client);
- :class:`DeploymentClient`: the Python API, ``keel.Client().deployments``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.deployments.client import DeploymentClient, open_deployments
    from keel.deployments.service import DeploymentService

__all__ = ["DeploymentClient", "DeploymentService", "open_deployments"]


def __getattr__(name: str) -> Any:
    if name in ("DeploymentClient", "open_deployments"):
        from keel.deployments import client

        return getattr(client, name)
    if name == "DeploymentService":
        from keel.deployments.service import DeploymentService

        return DeploymentService
    raise AttributeError(f"module 'keel.deployments' has no attribute {name!r}")

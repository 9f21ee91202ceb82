"""The deployment a ``deployments:/name`` target names, read from the store (a database
or a ``keel server``) through ``Backend.deployments``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.entities.deployment import Deployment
    from keel.store.backend import Backend


def read_deployment(backend: Backend, name: str) -> Deployment:
    """The stored deployment ``name``: its policy and revision (``NotFound`` if none)."""
    return backend.deployments.get_deployment(name)

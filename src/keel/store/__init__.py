"""Persistence behind one interface per concern: tracking metadata (:class:`TrackingStore`),
the model registry (:class:`RegistryStore`), dataset versions (:class:`DatasetStore`) and
deployments (:class:`DeploymentReader`, :class:`DeploymentStore`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.store.backend import Backend
    from keel.store.base import TrackingStore
    from keel.store.datasets import DatasetStore
    from keel.store.deployments import DeploymentReader, DeploymentStore
    from keel.store.registry import RegistryStore

_PROTOCOLS = {
    "DatasetStore": "datasets",
    "DeploymentReader": "deployments",
    "DeploymentStore": "deployments",
    "RegistryStore": "registry",
    "TrackingStore": "base",
}
"""Loaded on first use: a command that opens one store does not build the others' types."""

__all__ = [
    "DatasetStore",
    "DeploymentReader",
    "DeploymentStore",
    "RegistryStore",
    "TrackingStore",
    "open_backend",
    "open_registry",
    "open_store",
]


def __getattr__(name: str) -> Any:
    home = _PROTOCOLS.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"keel.store.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def open_backend(uri: str, settings: Settings, *, migrate: bool = True) -> Backend:
    """Everything a tracking URI gives, sharing one engine or one HTTP session; see
    :mod:`keel.store.backend`."""
    from keel.store.backend import open_backend as open_

    return open_(uri, settings, migrate=migrate)


def open_store(uri: str, settings: Settings, *, migrate: bool = True) -> TrackingStore:
    """The tracking store alone (closing it closes what it was built on); a SQL schema
    that is behind is upgraded."""
    return open_backend(uri, settings, migrate=migrate).tracking


def open_registry(uri: str, settings: Settings, *, migrate: bool = True) -> RegistryStore:
    """The model registry alone, as :func:`open_store` gives the tracking store."""
    return open_backend(uri, settings, migrate=migrate).registry

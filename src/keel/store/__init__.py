"""Persistence behind one interface per concern: tracking metadata (:class:`TrackingStore`),
the model registry (:class:`RegistryStore`) and dataset versions (:class:`DatasetStore`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.store.base import TrackingStore
    from keel.store.datasets import DatasetStore
    from keel.store.registry import RegistryStore

_PROTOCOLS = {"DatasetStore": "datasets", "RegistryStore": "registry", "TrackingStore": "base"}
"""Loaded on first use: a command that opens one store does not build the others' types."""

__all__ = [
    "DatasetStore",
    "RegistryStore",
    "TrackingStore",
    "open_datasets",
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


def open_store(uri: str, settings: Settings, *, migrate: bool = True) -> TrackingStore:
    """Open the store a tracking URI names; a SQL schema that is behind is upgraded."""
    from keel.uri import StoreKind, resolve_tracking_uri

    target = resolve_tracking_uri(uri, artifacts_uri=settings.artifacts_uri)
    if target.kind is StoreKind.REST:
        from keel.store.rest import RestTrackingStore

        return RestTrackingStore(target.uri, timeout=settings.http_timeout)
    from keel.store.sql.migrate import ensure_schema
    from keel.store.sql.store import SqlTrackingStore

    artifact_root = target.artifacts_uri or str((settings.home / "artifacts").resolve())
    store = SqlTrackingStore(target.uri, artifact_root=artifact_root)
    if migrate:
        ensure_schema(store.engine)
    return store


def open_registry(uri: str, settings: Settings, *, migrate: bool = True) -> RegistryStore:
    """Open the model registry of the store a tracking URI names (the same database, or
    the same ``keel server``); a SQL schema that is behind is upgraded."""
    from keel.uri import StoreKind, resolve_tracking_uri

    target = resolve_tracking_uri(uri, artifacts_uri=settings.artifacts_uri)
    if target.kind is StoreKind.REST:
        from keel.store.rest.registry import RestRegistryStore

        return RestRegistryStore(target.uri, timeout=settings.http_timeout)
    from keel.store.sql.migrate import ensure_schema
    from keel.store.sql.registry import SqlRegistryStore

    registry = SqlRegistryStore(target.uri)
    if migrate:
        ensure_schema(registry.engine)
    return registry


def open_datasets(store: TrackingStore) -> DatasetStore:
    """The dataset store beside a tracking store: its database (through its engine), or
    the same ``keel server``."""
    base_url = getattr(store, "base_url", None)
    if base_url is not None:
        from keel.store.rest.datasets import RestDatasetStore

        return RestDatasetStore(base_url)
    from keel.store.sql.datasets import SqlDatasetStore

    return SqlDatasetStore(getattr(store, "engine"))  # noqa: B009 (SQL stores only)

"""The tracking store as a client of ``keel server``."""

from __future__ import annotations

from keel.store.rest.store import RestTrackingStore

__all__ = ["RestTrackingStore"]

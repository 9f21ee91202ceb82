"""The model registry as users see it: register models from runs, move aliases under
policy, review promotions, resolve ``models:/`` URIs, read the audit trail."""

from __future__ import annotations

from keel.registry.client import RegistryClient

__all__ = ["RegistryClient"]

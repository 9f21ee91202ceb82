"""Plain helpers for the registry suite (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from keel.entities.registry import ModelVersion
from keel.store import RegistryStore

OWNER = "olive"
"""The user who registers models and asks for promotions."""
REVIEWER = "rita"
"""Another user, who decides promotion requests."""
CI = "ci-bot"
"""The user that records check results."""

HASH = "blake3:" + "ab" * 32


def kind_of(registry: RegistryStore) -> str:
    """``sqlite``, ``postgresql`` or ``rest``."""
    engine = getattr(registry, "engine", None)
    return "rest" if engine is None else str(engine.dialect.name)


def new_version(registry: RegistryStore, name: str, source: str, **fields: object) -> ModelVersion:
    fields.setdefault("content_hash", HASH)
    fields.setdefault("actor", OWNER)
    return registry.create_model_version(name, source, **fields)  # type: ignore[arg-type]


def audit_actions(registry: RegistryStore, name: str) -> list[str]:
    return [a.action.value for a in registry.list_audit(name).records]

"""Plain helpers for the registry suite (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from keel.artifacts.hashing import hash_bytes
from keel.entities.registry import ModelVersion
from keel.models.manifest import FileEntry, ModelManifest
from keel.models.signature import ColumnSpec, Signature
from keel.store import RegistryStore

OWNER = "olive"
"""The user who registers models and asks for promotions."""
REVIEWER = "rita"
"""Another user, who decides promotion requests."""
CI = "ci-bot"
"""The user that records check results."""


def manifest(signature: Signature | None = None) -> bytes:
    """A model package's ``keel-model.json``, as ``keel.models`` writes it."""
    return (
        ModelManifest(
            flavor="sklearn",
            flavors={"sklearn": {"file": "model.skops"}},
            files={"model.skops": FileEntry(3, "ab" * 32)},
            python_version="3.11.7",
            requirements=("scikit-learn==1.5.0",),
            created=1_700_000_000_000,
            keel_version="0.1.0",
            signature=signature,
        )
        .to_json()
        .encode()
    )


MANIFEST = manifest()
"""What ``make_source`` logs by default."""
HASH = f"blake3:{hash_bytes(MANIFEST)}"
"""The digest a version of a ``MANIFEST`` source records: of the manifest's bytes."""
SIGNATURE = Signature((ColumnSpec("amount", "float64"),))


def kind_of(registry: RegistryStore) -> str:
    """``sqlite``, ``postgresql`` or ``rest``."""
    engine = getattr(registry, "engine", None)
    return "rest" if engine is None else str(engine.dialect.name)


def new_version(registry: RegistryStore, name: str, source: str, **fields: object) -> ModelVersion:
    fields.setdefault("actor", OWNER)
    return registry.create_model_version(name, source, **fields)  # type: ignore[arg-type]


def audit_actions(registry: RegistryStore, name: str) -> list[str]:
    return [a.action.value for a in registry.list_audit(name).records]

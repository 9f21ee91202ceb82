"""What the data client's commands return: an add's outcome, a folder's status and the
difference between two versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keel.data.state import Checkout
from keel.entities.dataset import DatasetVersion

if TYPE_CHECKING:
    from keel.data.profile import ProfileDiff


@dataclass(frozen=True, slots=True)
class AddResult:
    version: DatasetVersion
    created: bool
    """False when the latest version already held exactly this content."""
    hashed_files: int
    stored_bytes: int
    """Bytes newly written to the cache (0 when every file was already there)."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What differs between a manifest (``old``) and a folder or another manifest."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "modified": self.modified}


@dataclass(frozen=True, slots=True)
class Status:
    path: str
    checkout: Checkout
    changes: Changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "dataset": self.checkout.name,
            "version": self.checkout.version,
            "clean": self.changes.clean,
            **self.changes.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class VersionDiff:
    a: DatasetVersion
    b: DatasetVersion
    files: Changes
    table: ProfileDiff | None
    """Schema, row-count and per-column statistic changes, when both are tables."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.uri,
            "b": self.b.uri,
            "files": self.files.to_dict(),
            "table": None if self.table is None else self.table.to_dict(),
        }

"""The dataset store: dataset versions and the runs that used them, one interface.

``SqlDatasetStore`` (SQLite, PostgreSQL) implements :class:`DatasetStore`. A version is
created once per content: adding what the latest version already holds returns that version
(``created`` False) instead of numbering a copy. Versions are never changed.

Errors: a bad name, digest or context is ``InvalidArgument``; an unknown dataset, version
or run is ``NotFound``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from keel.entities.dataset import Dataset, DatasetInput, DatasetKind, DatasetVersion


@runtime_checkable
class DatasetStore(Protocol):
    def create_dataset_version(
        self,
        name: str,
        *,
        digest: str,
        manifest: bytes,
        kind: DatasetKind,
        file_count: int,
        total_bytes: int,
        source: str,
        actor: str,
        description: str = "",
        row_count: int | None = None,
        column_count: int | None = None,
        profile: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """The new version (True), or the latest one when it has this digest (False).
        ``manifest`` is the manifest's canonical bytes; ``digest`` must be their BLAKE3.
        A new dataset is made in ``project`` when one is named (else ``default``); an
        existing one named with another project is a ``Conflict``."""
        ...

    def get_manifest(self, digest: str) -> bytes:
        """A version's manifest bytes by their digest."""
        ...

    def get_dataset(self, name: str) -> Dataset: ...
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """A version with its profile; ``version`` None is the latest."""
        ...

    def list_datasets(self) -> list[Dataset]: ...
    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Newest first, without profiles."""
        ...

    def log_run_input(self, run_id: str, name: str, version: int, context: str) -> DatasetInput:
        """Record that a run used a version (again is a no-op returning the first record)."""
        ...

    def run_inputs(self, run_id: str) -> list[DatasetInput]: ...
    def version_users(self, name: str, version: int) -> list[DatasetInput]:
        """The runs that used a version, oldest first."""
        ...

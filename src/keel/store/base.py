"""The tracking store: one interface, whichever engine is behind it.

``SqlTrackingStore`` (SQLite, PostgreSQL) and ``RestTrackingStore`` (a ``keel server``)
both implement :class:`TrackingStore`; nothing above this layer knows which it has.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Protocol, runtime_checkable

from keel.entities import (
    Experiment,
    FileInfo,
    MetricHistory,
    Run,
    RunInfo,
    RunPage,
    RunStatus,
    ViewType,
    WriteBatch,
)


@runtime_checkable
class TrackingStore(Protocol):
    # experiments
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        project: str | None = None,
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    # runs
    def create_run(
        self,
        experiment_id: str,
        *,
        run_id: str | None = None,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def write(self, batch: WriteBatch) -> bool:
        """Apply a batch atomically. A batch id seen before is acknowledged, not applied
        again: returns False for such a replay."""
        ...

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory: ...
    def iter_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> Generator[MetricHistory, None, None]:
        """:meth:`get_metric_history` in chunks, read as they are consumed: each chunk is
        a slice of the series in step order with the series' ``total``, and there is at
        least one (empty for an empty series). Errors (no such run) come with the first.
        Consume it to the end or close it: it may hold a database transaction open."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        *,
        view: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunPage: ...
    def reap_lost_runs(self, silent_for_ms: int) -> list[str]:
        """Mark RUNNING runs whose last heartbeat is older than ``silent_for_ms`` KILLED."""
        ...

    # artifact records (the bytes live in an ArtifactStore)
    def record_artifacts(self, run_id: str, files: Sequence[FileInfo]) -> None: ...
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]: ...
    def get_artifact(self, run_id: str, path: str) -> FileInfo: ...

    def close(self) -> None: ...

"""Runs and what hangs off them: params, tags, code version, artifact listings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from keel.entities.experiment import LifecycleStage
from keel.entities.paging import PagedList


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


# Tags Keel sets itself. Users may read and search them like any tag.
TAG_GIT_COMMIT = "keel.source.git.commit"
TAG_GIT_DIRTY = "keel.source.git.dirty"
TAG_GIT_DIFF_HASH = "keel.source.git.diff_hash"
TAG_GIT_BRANCH = "keel.source.git.branch"
TAG_SOURCE_NAME = "keel.source.name"
TAG_USER = "keel.user"
TAG_LOST = "keel.lost"
# MLflow's name for a run's parent: accepted at creation and in filters, shown on reads.
TAG_MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"


@dataclass(frozen=True, slots=True)
class CodeVersion:
    """The code a run was made from: a git commit and whether the tree had changes."""

    commit: str
    dirty: bool
    diff_hash: str | None = None
    branch: str | None = None

    def to_tags(self) -> dict[str, str]:
        tags = {TAG_GIT_COMMIT: self.commit, TAG_GIT_DIRTY: "true" if self.dirty else "false"}
        if self.diff_hash:
            tags[TAG_GIT_DIFF_HASH] = self.diff_hash
        if self.branch:
            tags[TAG_GIT_BRANCH] = self.branch
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> CodeVersion | None:
        commit = tags.get(TAG_GIT_COMMIT)
        if not commit:
            return None
        return cls(
            commit=commit,
            dirty=tags.get(TAG_GIT_DIRTY) == "true",
            diff_hash=tags.get(TAG_GIT_DIFF_HASH),
            branch=tags.get(TAG_GIT_BRANCH),
        )


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    lifecycle_stage: LifecycleStage
    artifact_uri: str
    parent_run_id: str | None = None
    user_id: str | None = None
    last_heartbeat: int | None = None


@dataclass(frozen=True, slots=True)
class RunData:
    """Latest value of each metric, every param, every tag."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def code_version(self) -> CodeVersion | None:
        return CodeVersion.from_tags(self.data.tags)


class RunPage(PagedList[Run]):
    """One page of search results: a :class:`~keel.entities.paging.PagedList` of runs;
    pass ``token`` back as ``page_token`` for the next."""

    @property
    def runs(self) -> list[Run]:
        """The page itself (the name Keel's pages used first)."""
        return self


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An artifact, or a folder of artifacts, below a run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None
    digest: str | None = None

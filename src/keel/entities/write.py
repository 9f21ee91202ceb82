"""A batch of writes to runs: the unit the client sends and the store applies atomically.

Every write from a client (creating a run, logging params, metrics and tags, ending it)
travels in a :class:`WriteBatch`. A batch carries a client-made ``batch_id``; the store
records it in the same transaction as the writes, so replaying a batch (after a timeout or
from the offline spool) is a no-op rather than a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keel.entities.run import RunStatus


@dataclass(slots=True)
class MetricColumns:
    """Metric points by column: the shape they travel and are inserted in."""

    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, key: str, value: float, timestamp: int, step: int) -> None:
        self.keys.append(key)
        self.values.append(value)
        self.timestamps.append(timestamp)
        self.steps.append(step)

    def extend(self, other: MetricColumns) -> None:
        self.keys.extend(other.keys)
        self.values.extend(other.values)
        self.timestamps.extend(other.timestamps)
        self.steps.extend(other.steps)

    def trim(self) -> None:
        """Cut every column to the shortest: an append interrupted between columns (by an
        exception a signal handler raised) must not make the batch unreadable."""
        lengths = (len(self.keys), len(self.values), len(self.timestamps), len(self.steps))
        if min(lengths) != max(lengths):
            for column in (self.keys, self.values, self.timestamps, self.steps):
                del column[min(lengths) :]

    def slice(self, start: int, stop: int) -> MetricColumns:
        return MetricColumns(
            self.keys[start:stop],
            self.values[start:stop],
            self.timestamps[start:stop],
            self.steps[start:stop],
        )


@dataclass(frozen=True, slots=True)
class RunCreate:
    """Creates the run named by the enclosing :class:`RunWrite` (the client chose its id)."""

    experiment_id: str
    run_name: str
    start_time: int
    parent_run_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunEnd:
    status: RunStatus
    end_time: int


@dataclass(slots=True)
class RunWrite:
    """Everything a batch does to one run, applied in this order:
    create, params, tags, metrics, heartbeat, end."""

    run_id: str
    create: RunCreate | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: MetricColumns = field(default_factory=MetricColumns)
    heartbeat: int | None = None
    end: RunEnd | None = None

    def is_empty(self) -> bool:
        return (
            self.create is None
            and not self.params
            and not self.tags
            and not len(self.metrics)
            and self.heartbeat is None
            and self.end is None
        )

    def size(self) -> int:
        """Rows this write inserts or updates: what batch limits count."""
        return (
            (self.create is not None)
            + len(self.params)
            + len(self.tags)
            + len(self.metrics)
            + (self.end is not None)
        )


@dataclass(slots=True)
class WriteBatch:
    batch_id: str
    runs: list[RunWrite] = field(default_factory=list)

    def size(self) -> int:
        return sum(w.size() for w in self.runs)

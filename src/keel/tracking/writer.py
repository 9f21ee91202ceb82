"""The client's write path: logging returns at once; a background thread sends batches.

``log_metric`` and friends append to an in-memory :class:`RunWrite` per run. A daemon
thread sends what has gathered every ``flush_interval`` seconds (sooner when a lot has
gathered) as one :class:`WriteBatch`; ``flush()`` sends everything now and returns when
the store has it durably. Memory is bounded: past ``max_buffered_rows`` logging waits for
the sender. When the store is unreachable, batches go to the on-disk :class:`Spool` and
are replayed, in order, once it answers again; batch ids make replays idempotent.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator

from keel.entities import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
from keel.entities.ids import new_id
from keel.entities.rules import MAX_BATCH_ROWS
from keel.errors import KeelError, PayloadTooLarge, StoreUnavailable
from keel.store.base import TrackingStore
from keel.tracking.spool import Spool

log = logging.getLogger(__name__)

SEND_SOON_ROWS = 50_000
"""Wake the sender early once this many rows have gathered."""

_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


class BackgroundWriter:
    def __init__(
        self,
        store: TrackingStore,
        *,
        spool: Spool | None,
        flush_interval: float = 1.0,
        max_buffered_rows: int = 1_000_000,
        heartbeat_interval: float = 15.0,
    ) -> None:
        self._store = store
        self._spool = spool
        self._interval = flush_interval
        self._max_rows = max_buffered_rows
        # A full buffer must wake the sender too, or logging stalls a whole interval.
        self._send_soon = min(SEND_SOON_ROWS, max_buffered_rows)
        self._cond = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._pending: dict[str, RunWrite] = {}
        self._rows = 0
        self._errors: list[KeelError] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._urgent = False
        self._heartbeat_interval = heartbeat_interval
        self._alive: set[str] = set()
        self._last_beat = time.monotonic()
        _writers.add(self)

    # producers -----------------------------------------------------------------------

    def _entry(self, run_id: str) -> RunWrite:
        entry = self._pending.get(run_id)
        if entry is None:
            entry = self._pending[run_id] = RunWrite(run_id)
        return entry

    def _added(self, rows: int) -> None:
        """Account for new rows (lock held); start the sender, wait if memory is full."""
        self._rows += rows
        if self._thread is None:  # its loop never ends but on close; fork resets it
            self._start()
        if self._rows >= self._send_soon:
            self._cond.notify_all()
        while self._rows >= self._max_rows and not self._closed:
            self._cond.notify_all()
            self._cond.wait(timeout=1.0)

    def create_run(self, run_id: str, create: RunCreate, tags: dict[str, str]) -> None:
        """Queue a new run's creation: it travels with the run's first batch of writes."""
        with self._cond:
            entry = self._entry(run_id)
            entry.create = create
            entry.tags.update(tags)
            self._added(1 + len(tags))

    def create_run_now(self, run_id: str, create: RunCreate, tags: dict[str, str]) -> None:
        """Store a new run before returning, in a batch of its own, so that every client
        can read it at once. A refusal is raised here. While the server is unreachable
        (or earlier writes still wait in the spool) the creation joins the spool, in order."""
        batch = WriteBatch(new_id(), [RunWrite(run_id, create=create, tags=dict(tags))])
        if self._spool is not None and len(self._spool):
            self._spool.append(batch)
            self._wake()
            return
        try:
            self._store.write(batch)
        except StoreUnavailable:
            if self._spool is None:
                raise
            log.warning("keel: store unreachable, spooling writes to %s", self._spool.folder)
            self._spool.append(batch)
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            if self._thread is None:
                self._start()
            self._urgent = True
            self._cond.notify_all()

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        with self._cond:
            m = self._entry(run_id).metrics
            m.keys.append(key)
            m.values.append(value)
            m.timestamps.append(timestamp)
            m.steps.append(step)
            self._added(1)

    def log_metrics(self, run_id: str, metrics: MetricColumns) -> None:
        with self._cond:
            self._entry(run_id).metrics.extend(metrics)
            self._added(len(metrics))

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        with self._cond:
            self._entry(run_id).params.update(params)
            self._added(len(params))

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        with self._cond:
            self._entry(run_id).tags.update(tags)
            self._added(len(tags))

    def watch(self, run_id: str) -> None:
        """Send heartbeats for ``run_id`` until :meth:`unwatch`, so that a run whose
        process dies is told apart from one still running."""
        with self._cond:
            self._alive.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._start()

    def unwatch(self, run_id: str) -> None:
        with self._cond:
            self._alive.discard(run_id)

    def end_run(self, run_id: str, end: RunEnd, *, wake: bool = True) -> None:
        """Queue the end of a run and wake the sender: a run's end goes out at once.
        A caller about to :meth:`flush` itself passes ``wake=False``: waking the sender
        only to wait for it costs a thread hand-off."""
        with self._cond:
            self._entry(run_id).end = end
            self._added(1)
            if wake:
                self._urgent = True
                self._cond.notify_all()

    # sending -------------------------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="keel-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closed or self._urgent or self._rows >= self._send_soon,
                    timeout=self._interval,
                )
                if self._closed:
                    return
                self._urgent = False
                if time.monotonic() - self._last_beat >= self._heartbeat_interval:
                    self._last_beat = time.monotonic()
                    now = int(time.time() * 1000)
                    for run_id in self._alive:
                        self._entry(run_id).heartbeat = now
            try:
                self._drain()
            except Exception:  # never let the sender die; the next flush reports errors
                log.exception("keel: background write failed")

    def flush(self) -> None:
        """Send everything logged so far; return once the store has it (or it is spooled
        because the store is unreachable). Raises the first write the store refused."""
        self._drain()
        with self._cond:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    @property
    def spooled(self) -> int:
        return len(self._spool) if self._spool is not None else 0

    def _drain(self) -> None:
        with self._send_lock:
            with self._cond:
                writes = [w for w in self._pending.values() if not w.is_empty()]
                for write in writes:
                    write.metrics.trim()  # a signal raised mid-append leaves one row short
                self._pending = {}
                self._rows = 0
                self._cond.notify_all()
            if self._spool is not None and len(self._spool) and not self._replay():
                for batch in _split(writes):
                    self._spool.append(batch)
                return
            for batch in _split(writes):
                self._send(batch)

    def _send(self, batch: WriteBatch) -> None:
        try:
            self._store.write(batch)
        except StoreUnavailable as exc:
            if self._spool is None:
                self._errors.append(exc)
                return
            log.warning("keel: store unreachable, spooling writes to %s", self._spool.folder)
            self._spool.append(batch)
        except KeelError as exc:
            self._refused(batch, exc)

    def _refused(self, batch: WriteBatch, error: KeelError) -> None:
        """A store refuses a batch whole. Send its parts apart, so that one bad write (a
        param another client logged differently, a run deleted meanwhile) loses nothing
        else: each run on its own, then a run's params apart from its other writes. What
        is still refused is kept, naming the call and the run, for the next flush."""
        if len(batch.runs) > 1:
            for write in batch.runs:
                self._send(WriteBatch(new_id(), [write]))
            return
        write = batch.runs[0]
        parts = _parts(write)
        if len(parts) > 1:
            for part in parts:
                self._send(WriteBatch(new_id(), [part]))
            return
        self._errors.append(_explained(error, write))

    def _replay(self) -> bool:
        """Send spooled batches in order; False if the store is still unreachable."""
        assert self._spool is not None
        for path, batch in self._spool.pending():
            try:
                self._store.write(batch)
            except StoreUnavailable:
                return False
            except KeelError as exc:
                # Refused for good (e.g. the run was deleted meanwhile): send what else it
                # held, report the rest.
                self._refused(batch, exc)
            self._spool.remove(path)
        return True

    def close(self) -> None:
        try:
            self._drain()
        except Exception:
            log.exception("keel: could not send the last writes")
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            errors, self._errors = self._errors, []
        for error in errors:  # no flush() is left to raise these: say so, never drop them
            log.error("keel: a write was refused and is lost: %s", error)


def _split(writes: list[RunWrite]) -> Iterator[WriteBatch]:
    """Pack writes into batches under the store's row limit, splitting big metric logs.
    A run's creation stays in the first piece and its end in the last."""
    batch = WriteBatch(new_id())
    room = MAX_BATCH_ROWS
    for write in writes:
        while write.size() > room:
            head, write = _cut(write, room)
            if head is not None:
                batch.runs.append(head)
            elif not batch.runs:
                raise PayloadTooLarge(
                    f"run {write.run_id}: more than {MAX_BATCH_ROWS} params and tags at once"
                )
            yield batch
            batch, room = WriteBatch(new_id()), MAX_BATCH_ROWS
        batch.runs.append(write)
        room -= write.size()
    if batch.runs:
        yield batch


def _cut(write: RunWrite, room: int) -> tuple[RunWrite | None, RunWrite]:
    """Take up to ``room`` rows of ``write`` (metric points first to go to the tail)."""
    fixed = (write.create is not None) + len(write.params) + len(write.tags)
    if fixed + 1 > room:
        return None, write  # start a fresh batch for this run
    take = room - fixed
    head = RunWrite(
        write.run_id,
        create=write.create,
        params=write.params,
        tags=write.tags,
        metrics=write.metrics.slice(0, take),
        heartbeat=write.heartbeat,
    )
    tail = RunWrite(
        write.run_id, metrics=write.metrics.slice(take, len(write.metrics)), end=write.end
    )
    return head, tail


def _parts(write: RunWrite) -> list[RunWrite]:
    """``write`` split in the order a store applies it: the creation, the params, then
    tags, metrics, heartbeat and end. Empty parts are left out."""
    parts = [
        RunWrite(write.run_id, create=write.create),
        RunWrite(write.run_id, params=write.params),
        RunWrite(
            write.run_id,
            tags=write.tags,
            metrics=write.metrics,
            heartbeat=write.heartbeat,
            end=write.end,
        ),
    ]
    return [part for part in parts if not part.is_empty()]


def _explained(error: KeelError, write: RunWrite) -> KeelError:
    """``error`` again, saying which call's write it refused: it is raised later, by
    whatever call flushes next, so the message must name where it came from."""
    if write.create is not None:
        call = "start_run/create_run"
    elif write.params:
        call = "log_param(s)"
    else:
        call = "log_metric(s)/set_tag(s)/set_terminated"
    explained = type(error)(
        f"{error.message} [refused in the background: written by {call} to run "
        f"{write.run_id}, reported at the next flush]"
    )
    explained.__cause__ = error
    return explained


def _flush_all_at_exit() -> None:
    for writer in list(_writers):
        writer.close()


def _reset_after_fork() -> None:
    # The sender thread does not survive fork; the child starts its own on first write.
    for writer in list(_writers):
        writer._cond = threading.Condition(threading.Lock())
        writer._send_lock = threading.Lock()
        writer._thread = None


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

__all__ = ["BackgroundWriter"]

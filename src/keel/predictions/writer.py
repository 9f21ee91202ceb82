"""``PredictionLog``: the :class:`~keel.predictions.records.PredictionSink` a model server
hands its predictions to.

``record`` never blocks and never raises: it samples the batch (per deployment), then
puts it on a queue bounded in rows; a full queue drops the batch and counts it. One
background thread takes what is queued every ``flush_seconds`` (or as soon as
``flush_rows`` rows wait), groups it by deployment and hour into Arrow tables and writes
one Parquet file per group to
``predictions/<deployment>/date=YYYY-MM-DD/hour=HH/<writer-id>-<seq>.parquet`` in the
artifact store of the tracking URI (directly, or through a ``keel server``). While the
destination is unreachable, files wait in a local spool and are sent later, in order.

>>> log = open_prediction_log(backend, settings)                      # doctest: +SKIP
>>> log.record(batch)                                                 # doctest: +SKIP
>>> log.close(timeout=10)        # writes what is queued                # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from keel.entities.ids import new_id
from keel.entities.prediction_log import LogKind, hour_start
from keel.errors import InvalidArgument
from keel.predictions.records import PredictionBatch
from keel.predictions.spool import Spool, refused_for_good
from keel.store.prediction_files import PredictionFiles

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.store.backend import Backend

log = logging.getLogger("keel.predictions")

Item = TypeVar("Item")

MAX_RETRY_SECONDS = 60.0


class LogWriter(Generic[Item]):
    """A bounded queue of items (counted in rows) and the thread that writes them as
    Parquet files of one kind of log. Subclasses say how items become tables."""

    kind: LogKind

    def __init__(
        self,
        files: PredictionFiles,
        *,
        spool: Path,
        queue_rows: int = 100_000,
        flush_rows: int | None = None,
        flush_seconds: float = 5.0,
        retry_seconds: float = 2.0,
        writer_id: str | None = None,
    ) -> None:
        if queue_rows < 1:
            raise InvalidArgument(f"queue_rows: must be at least 1, got {queue_rows}")
        if flush_seconds <= 0:
            raise InvalidArgument(f"flush_seconds: must be greater than 0, got {flush_seconds}")
        self._files = files
        self._spool = Spool(spool)
        self.capacity = queue_rows
        self._flush_rows = max(1, min(flush_rows or queue_rows // 2, queue_rows))
        self._flush_seconds = flush_seconds
        self._retry_seconds = retry_seconds
        self.writer_id = writer_id or new_id()[:12]
        self._seq = 0
        self._cond = threading.Condition()
        self._queue: list[tuple[Item, int]] = []
        self._queued_rows = 0
        self._enqueued = 0  # items ever queued; the thread has handled the first _handled
        self._handled = 0
        self._flush_wanted = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._next_retry = 0.0
        self._backoff = retry_seconds
        self.dropped_rows = 0
        """Rows refused because the queue was full (or the log closed)."""
        self.written_rows = 0
        """Rows in files delivered or spooled."""
        self.spooled_files = 0
        """Files that went to the local spool (the destination was unreachable)."""
        self.failed_rows = 0
        """Rows lost to an error building their file (a bug: logged)."""

    # the caller's side --------------------------------------------------------------

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def _enqueue(self, item: Item, rows: int) -> bool:
        with self._cond:
            if self._closing or self._queued_rows + rows > self.capacity:
                self.dropped_rows += rows
                return False
            self._queue.append((item, rows))
            self._queued_rows += rows
            self._enqueued += 1
            if self._thread is None:
                self._start()
            if self._queued_rows >= self._flush_rows:
                self._cond.notify_all()
            return True

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"keel-{self.kind}-log-{self.writer_id}", daemon=True
        )
        self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued before this call (to the destination or the spool) and
        try the spool once more; ``False`` if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._enqueued
            if self._thread is None:
                if not self._spool.pending():
                    return True
                self._start()
            self._flush_wanted = True
            self._next_retry = 0.0
            self._cond.notify_all()
            while self._handled < target or self._flush_wanted:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Flush, then stop the thread. Files not delivered stay in the spool, for the
        next writer to send."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout))

    def __enter__(self) -> LogWriter[Item]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self._flush_seconds
                while not (
                    self._closing
                    or self._flush_wanted
                    or self._queued_rows >= self._flush_rows
                    or time.monotonic() >= deadline
                ):
                    self._cond.wait(deadline - time.monotonic())
                taken, self._queue = self._queue, []
                self._queued_rows = 0
                closing, flushing = self._closing, self._flush_wanted
            if taken:
                self._write([item for item, _ in taken], sum(rows for _, rows in taken))
            if flushing or time.monotonic() >= self._next_retry:
                self._retry_spool()
            with self._cond:
                self._handled += len(taken)
                if flushing and not self._queue:
                    self._flush_wanted = False
                self._cond.notify_all()
                if closing and not self._queue:
                    return

    def _write(self, items: list[Item], rows: int) -> None:
        try:
            groups = self._tables(items)
        except Exception:
            log.exception("prediction log: %d %s rows could not be written", rows, self.kind)
            self.failed_rows += rows
            return
        from keel.predictions.tables import parquet_bytes

        for deployment, hour_ms, table in groups:
            self._seq += 1
            name = f"{self.writer_id}-{self._seq:06d}"
            self._deliver(deployment, hour_ms, name, parquet_bytes(table))
            self.written_rows += table.num_rows

    def _deliver(self, deployment: str, hour_ms: int, name: str, data: bytes) -> None:
        if not self._spool.pending():  # else behind what waits, to keep the order
            try:
                self._files.put(self.kind, deployment, hour_ms, name, data)
                return
            except Exception as error:
                if refused_for_good(error):
                    log.error("prediction log: %s refused: %s", name, error)
                else:
                    log.warning("prediction log: destination unreachable (%s); spooling", error)
        self._spool.add(self.kind, deployment, hour_ms, name, data)
        self.spooled_files += 1

    def _retry_spool(self) -> None:
        if not self._spool.pending():
            self._backoff = self._retry_seconds
            return
        try:
            sent = self._spool.send(self._files)
        except Exception as error:
            self._next_retry = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_RETRY_SECONDS)
            log.warning("prediction log: spool not sent yet (%s)", error)
            return
        self._backoff = self._retry_seconds
        if sent:
            log.info("prediction log: sent %d spooled files", sent)

    def _tables(self, items: list[Item]) -> list[tuple[str, int, Any]]:
        """``(deployment, hour_ms, Arrow table)`` per file to write."""
        raise NotImplementedError


class PredictionLog(LogWriter[PredictionBatch]):
    """The prediction log a model server writes; see the module's docstring."""

    kind: LogKind = "predictions"

    def __init__(
        self,
        files: PredictionFiles,
        *,
        spool: Path,
        sampling: Mapping[str, float] | None = None,
        default_rate: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(files, spool=spool, **options)
        self._default_rate = check_rate(default_rate, "default_rate")
        self._rates = {name: check_rate(rate, name) for name, rate in (sampling or {}).items()}
        self._rng: Any = None
        self.sampled_out_rows = 0
        """Rows left out by sampling (never queued)."""

    def set_sampling(self, deployment: str, rate: float) -> None:
        """Log ``rate`` (0 to 1) of ``deployment``'s rows, each row drawn on its own."""
        self._rates[deployment] = check_rate(rate, deployment)

    def sampling_rate(self, deployment: str) -> float:
        return self._rates.get(deployment, self._default_rate)

    def record(self, batch: PredictionBatch) -> None:
        """Queue ``batch`` (after sampling). Never blocks, never raises."""
        try:
            rows = len(batch.ids)
            rate = self._rates.get(batch.deployment, self._default_rate)
            if rate < 1.0:
                kept = self._sample(batch, rate)
                self.sampled_out_rows += rows - (0 if kept is None else len(kept.ids))
                if kept is None:
                    return
                batch, rows = kept, len(kept.ids)
            if rows:
                self._enqueue(batch, rows)
        except Exception:  # a request must never fail for its log
            log.exception("prediction log: a batch could not be queued")
            self.dropped_rows += len(getattr(batch, "ids", ()))

    def _sample(self, batch: PredictionBatch, rate: float) -> PredictionBatch | None:
        if rate <= 0.0:
            return None
        from keel.predictions.tables import sample

        if self._rng is None:
            import numpy as np

            self._rng = np.random.default_rng()
        return sample(batch, rate, self._rng)

    def _tables(self, items: list[PredictionBatch]) -> list[tuple[str, int, Any]]:
        from keel.predictions.tables import prediction_tables

        groups: dict[tuple[str, int], list[PredictionBatch]] = {}
        for batch in items:
            groups.setdefault((batch.deployment, hour_start(batch.time_ms)), []).append(batch)
        return [
            (deployment, hour, table)
            for (deployment, hour), batches in groups.items()
            for table in prediction_tables(batches)
        ]


def check_rate(rate: object, field: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise InvalidArgument(
            f"sampling rate of {field}: must be a number from 0 to 1, got {rate!r}"
        )
    return float(rate)


def prediction_files(backend: Backend) -> PredictionFiles:
    """Where the tracking URI's prediction log lives (its artifact root, or its server)."""
    return backend.prediction_files


def open_prediction_log(
    backend: Backend,
    settings: Settings,
    *,
    sampling: Mapping[str, float] | None = None,
    **options: Any,
) -> PredictionLog:
    """The prediction log of ``backend``'s tracking URI: queue size
    (``KEEL_PREDICTION_LOG_QUEUE`` rows), flush interval
    (``KEEL_PREDICTION_LOG_FLUSH_SECONDS``) and spool folder (``KEEL_SPOOL_DIR``) from
    ``settings``; ``options`` override them (``queue_rows=``, ``flush_seconds=``...)."""
    files = prediction_files(backend)
    options.setdefault("queue_rows", settings.prediction_log_queue)
    options.setdefault("flush_seconds", settings.prediction_log_flush_seconds)
    options.setdefault("spool", settings.spool_path / "predictions")
    return PredictionLog(files, sampling=sampling, **options)

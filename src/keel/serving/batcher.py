"""Adaptive micro-batching: the requests that arrive while a model is busy are answered by
one ``predict`` call when it is free.

One worker thread per model version runs the batches one after another, so requests that
come in while a batch runs gather in the queue and leave together as the next one: under
light load a request goes at once (no added latency), under heavy load batches grow to
``max_rows`` by themselves. A request that already holds ``max_rows`` rows or more runs
alone. For a model that cannot hang (an ONNX graph) whose batches the cost model says
take microseconds, the batch runs on the event loop instead, once the requests read in
the same turn of the loop have joined it: handing it to a thread and back would cost
more than the call.

Like BentoML's dispatcher, the batcher learns what a batch costs: a line ``seconds ≈
fixed + per_row * rows`` fitted by exponentially weighted least squares over the batches
it ran (:class:`CostModel`). With it, a request's wait is estimated when it arrives (the
rest of the running batch, then the batches ahead of it, then its own); one that would
miss the latency budget is refused at once with :class:`Overloaded` (503) rather than
queueing to fail later, and so is one that finds the queue full. A request whose own
batch alone is over the budget is not shed: nothing would serve it sooner.

Where it differs from BentoML's ``CorkDispatcher``: that one wakes every millisecond to
decide, and cancels the oldest queued request once the head of the queue would miss the
budget (after it waited); here every decision is made when something happens (a request
arrives, a batch ends), and a request is refused before it waits at all.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from keel.errors import KeelError

INLINE_MAX_ROWS = 4
"""Most rows waiting for a batch to run on the event loop (see ``Batcher.inline_max_s``)."""
Job = TypeVar("Job")
Answer = TypeVar("Answer")


class Overloaded(KeelError):
    """The model cannot take this request in time: answered 503, try again later."""

    status_code = 503
    code = "overloaded"


class RequestTimeout(KeelError):
    """No answer within the request's time limit (the model hangs or is swamped): 504."""

    status_code = 504
    code = "timeout"


class CostModel:
    """``seconds ≈ fixed + per_row * rows``, fitted over the batches seen, recent ones
    weighing more (each older batch counts ``decay`` times less).

    >>> cost = CostModel()
    >>> for rows in (1, 10, 20, 40):
    ...     cost.observe(rows, 0.001 + 0.0001 * rows)
    >>> round(cost.estimate(30) * 1000, 3)
    4.0
    """

    MIN_SAMPLES = 3

    def __init__(self, decay: float = 0.98) -> None:
        self.decay = decay
        self.samples = 0
        self._w = self._x = self._y = self._xx = self._xy = 0.0

    def observe(self, rows: int, seconds: float) -> None:
        d = self.decay
        self._w = self._w * d + 1.0
        self._x = self._x * d + rows
        self._y = self._y * d + seconds
        self._xx = self._xx * d + rows * rows
        self._xy = self._xy * d + rows * seconds
        self.samples += 1

    def estimate(self, rows: int) -> float | None:
        """Seconds a batch of ``rows`` should take, or ``None`` before enough batches."""
        if self.samples < self.MIN_SAMPLES:
            return None
        mean_x, mean_y = self._x / self._w, self._y / self._w
        spread = self._xx / self._w - mean_x * mean_x
        if spread <= 1e-9:  # every batch the same size so far: cost per row from the mean
            per_row = mean_y / mean_x if mean_x else 0.0
            return max(per_row * rows, 0.0)
        per_row = max((self._xy / self._w - mean_x * mean_y) / spread, 0.0)
        fixed = max(mean_y - per_row * mean_x, 0.0)
        return fixed + per_row * rows


def _expire(future: asyncio.Future[Any], timeout: float) -> None:
    if not future.done():  # a queued request is then skipped by _take
        future.set_exception(RequestTimeout(f"no answer from the model within {timeout:g} s"))


@dataclass(slots=True)
class _Pending(Generic[Job]):
    job: Job
    rows: int
    arrived: float
    future: asyncio.Future[Any]


@dataclass(slots=True)
class BatchStats:
    """What the batcher reports after each batch (for the metrics)."""

    rows: int
    requests: int
    seconds: float
    error: bool = False


@dataclass
class Batcher(Generic[Job, Answer]):
    """Batches jobs for ``run``, which takes a list of jobs and returns one answer per job
    (in the worker thread). ``submit`` is called on the event loop.

    ``run`` raising fails every request of its batch with that exception; the batcher
    goes on with the next batch.
    """

    run: Callable[[Sequence[Job]], Sequence[Answer]]
    max_rows: int = 64
    budget_s: float = 1.0
    wait_s: float = 0.0
    max_queue_rows: int = 10_000
    on_batch: Callable[[BatchStats], None] | None = None
    name: str = "model"
    inline_max_s: float = 0.0
    """Batches the cost model says take at most this long run on the event loop itself
    (only for models that cannot hang: an ONNX graph, not custom Python code)."""
    cost: CostModel = field(default_factory=CostModel)
    _queue: deque[_Pending[Job]] = field(default_factory=deque, init=False)
    _queued_rows: int = field(default=0, init=False)
    _busy_until: float = field(default=0.0, init=False)
    _busy: bool = field(default=False, init=False)
    _waiting: bool = field(default=False, init=False)
    _closed: bool = field(default=False, init=False)
    _executor: ThreadPoolExecutor | None = field(default=None, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def idle(self) -> bool:
        return not self._busy and not self._queue

    async def submit(self, job: Job, rows: int, timeout: float | None = None) -> Answer:
        """The answer to ``job`` (``rows`` rows), once its batch ran; ``Overloaded``
        when it would miss the budget or the queue is full; ``RequestTimeout`` after
        ``timeout`` seconds without an answer."""
        if self._closed:
            raise Overloaded(f"model {self.name}: being replaced; retry")
        now = time.monotonic()
        self._admit(rows, now)
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Pending(job, rows, now, future))
        self._queued_rows += rows
        self._dispatch()
        timer = None if timeout is None else loop.call_later(timeout, _expire, future, timeout)
        try:
            return await future
        except asyncio.CancelledError:
            future.cancel()  # the client left: not run if still queued
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _admit(self, rows: int, now: float) -> None:
        if self._queued_rows + rows > self.max_queue_rows:
            raise Overloaded(
                f"model {self.name}: {self._queued_rows} rows already queued, the most is "
                f"{self.max_queue_rows}; retry later"
            )
        ahead = self._queued_rows
        own = self.cost.estimate(rows)
        if own is None or (ahead == 0 and not self._busy):
            return
        wait = max(self._busy_until - now, 0.0) if self._busy else 0.0
        full, rest = divmod(ahead, self.max_rows)
        per_batch = self.cost.estimate(self.max_rows) or 0.0
        wait += full * per_batch + (self.cost.estimate(rest) or 0.0 if rest else 0.0)
        if wait > 0 and wait + own > self.budget_s:
            raise Overloaded(
                f"model {self.name}: would answer in about {math.ceil((wait + own) * 1000)} ms, "
                f"over the {math.ceil(self.budget_s * 1000)} ms budget; retry later"
            )

    def _dispatch(self) -> None:
        if self._busy or self._waiting or not self._queue:
            return
        if self._inline_now():
            # On the event loop, after the requests already read in this turn of the loop
            # have joined the queue: no thread hand-off for a call of a few microseconds.
            self._busy = True
            self._busy_until = time.monotonic()
            assert self._loop is not None
            self._loop.call_soon(self._run_inline)
            return
        if self.wait_s > 0 and self._queued_rows < self.max_rows:
            oldest = self._queue[0].arrived
            delay = oldest + self.wait_s - time.monotonic()
            if delay > 0:
                assert self._loop is not None
                self._waiting = True
                self._loop.call_later(delay, self._wake)
                return
        batch = self._take()
        if not batch:
            return
        rows = sum(p.rows for p in batch)
        estimate = self.cost.estimate(rows) or 0.0
        self._busy = True
        self._busy_until = time.monotonic() + estimate
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"keel-predict-{self.name}")
        assert self._loop is not None
        done = self._loop.run_in_executor(self._executor, self._run_batch, batch, rows)
        done.add_done_callback(self._finished)

    def _inline_now(self) -> bool:
        """Light load on a quick model: few rows waiting (under heavy load a thread lets
        the model run beside the event loop, on another core)."""
        if self.inline_max_s <= 0 or self.wait_s > 0 or self._queued_rows > INLINE_MAX_ROWS:
            return False
        estimate = self.cost.estimate(self._queued_rows)
        return estimate is not None and estimate <= self.inline_max_s

    def _run_inline(self) -> None:
        batch = self._take()
        if not batch:
            self._busy = False
            return
        done: asyncio.Future[Any] = self._loop.create_future()  # type: ignore[union-attr]
        done.set_result(self._run_batch(batch, sum(p.rows for p in batch)))
        self._finished(done)

    def _wake(self) -> None:
        self._waiting = False
        self._dispatch()

    def _take(self) -> list[_Pending[Job]]:
        """The next batch: the oldest requests up to ``max_rows`` rows (a request holding
        ``max_rows`` or more goes alone); cancelled ones are dropped."""
        batch: list[_Pending[Job]] = []
        rows = 0
        queue = self._queue
        while queue:
            head = queue[0]
            if head.future.done():  # cancelled while queued
                queue.popleft()
                self._queued_rows -= head.rows
                continue
            if batch and rows + head.rows > self.max_rows:
                break
            queue.popleft()
            self._queued_rows -= head.rows
            batch.append(head)
            rows += head.rows
            if rows >= self.max_rows:
                break
        return batch

    def _run_batch(self, batch: list[_Pending[Job]], rows: int) -> tuple[Any, list[Any]]:
        started = time.monotonic()
        try:
            answers: Any = self.run([p.job for p in batch])
            error = None
        except Exception as exc:  # the requests of this batch fail; the next batch runs
            answers, error = None, exc
        seconds = time.monotonic() - started
        if error is None:
            self.cost.observe(rows, seconds)
        if self.on_batch is not None:
            self.on_batch(BatchStats(rows, len(batch), seconds, error is not None))
        return (batch, answers if error is None else error)  # type: ignore[return-value]

    def _finished(self, done: asyncio.Future[tuple[Any, Any]]) -> None:
        self._busy = False
        batch, answers = done.result()
        if isinstance(answers, BaseException):
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(answers)
        else:
            for pending, answer in zip(batch, answers, strict=True):
                if not pending.future.done():
                    pending.future.set_result(answer)
        self._dispatch()

    async def drain(self, timeout: float) -> bool:
        """Stop taking requests and wait until the queued and running ones are answered;
        False when ``timeout`` ran out first."""
        self._closed = True
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def shutdown(self) -> None:
        """Release the worker thread (a hung ``predict`` keeps it; the process exits
        without waiting for it)."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

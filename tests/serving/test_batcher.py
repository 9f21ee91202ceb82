"""The batcher on its own: concurrent jobs share predict calls, a large job runs alone,
the cost model sheds what would miss the budget, a hung call times out, a raising call
fails only its batch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from keel.serving.batcher import Batcher, BatchStats, CostModel, Overloaded, RequestTimeout


def test_cost_model_learns_a_line() -> None:
    cost = CostModel()
    assert cost.estimate(10) is None
    for rows in (1, 5, 10, 20, 40, 80):
        cost.observe(rows, 0.002 + 0.0005 * rows)
    assert cost.estimate(100) == pytest.approx(0.052, rel=1e-6)
    assert cost.estimate(0) == pytest.approx(0.002, rel=1e-6)


def test_concurrent_jobs_are_batched_and_answered_in_order() -> None:
    calls: list[list[int]] = []
    stats: list[BatchStats] = []

    def run(jobs: Sequence[int]) -> list[int]:
        calls.append(list(jobs))
        time.sleep(0.02)
        return [job * 10 for job in jobs]

    async def main() -> list[int]:
        batcher = Batcher(run, max_rows=8, on_batch=stats.append)
        return list(await asyncio.gather(*(batcher.submit(i, 1) for i in range(20))))

    answers = asyncio.run(main())
    assert answers == [i * 10 for i in range(20)]
    assert len(calls) < 20 and max(len(c) for c in calls) == 8
    assert sum(s.rows for s in stats) == 20


def test_a_job_at_max_rows_runs_alone() -> None:
    calls: list[list[str]] = []

    def run(jobs: Sequence[str]) -> list[str]:
        calls.append(list(jobs))
        time.sleep(0.01)
        return list(jobs)

    async def main() -> None:
        batcher = Batcher(run, max_rows=10)
        await asyncio.gather(
            batcher.submit("first", 1), batcher.submit("big", 10), batcher.submit("small", 1),
            batcher.submit("small2", 1),
        )  # fmt: skip

    asyncio.run(main())
    assert ["big"] in calls
    assert all(len(c) == 1 or "big" not in c for c in calls)


def test_requests_over_the_budget_are_shed() -> None:
    def run(jobs: Sequence[int]) -> list[int]:
        time.sleep(0.02 * len(jobs))
        return list(jobs)

    async def main() -> tuple[int, int]:
        batcher = Batcher(run, max_rows=4, budget_s=0.1)
        for i in range(4):  # teach the cost model: 20 ms a row
            await batcher.submit(i, 1)
        results = await asyncio.gather(
            *(batcher.submit(i, 1) for i in range(40)), return_exceptions=True
        )
        shed = sum(isinstance(r, Overloaded) for r in results)
        return shed, sum(isinstance(r, int) for r in results)

    shed, answered = asyncio.run(main())
    assert shed > 0 and answered > 0
    assert shed + answered == 40


def test_full_queue_is_refused() -> None:
    release = threading.Event()

    def run(jobs: Sequence[int]) -> list[int]:
        release.wait(5)
        return list(jobs)

    async def main() -> None:
        batcher = Batcher(run, max_rows=2, max_queue_rows=3)
        first = asyncio.ensure_future(batcher.submit(0, 1))
        await asyncio.sleep(0.01)  # running now
        queued = [asyncio.ensure_future(batcher.submit(i, 1)) for i in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match="queued"):
            await batcher.submit(99, 1)
        release.set()
        await asyncio.gather(first, *queued)

    asyncio.run(main())


def test_a_hung_model_times_out_and_a_raising_one_fails_its_batch_only() -> None:
    hang = threading.Event()

    def run(jobs: Sequence[str]) -> list[str]:
        if "hang" in jobs:
            hang.wait(5)
        if "boom" in jobs:
            raise RuntimeError("boom")
        return list(jobs)

    async def main() -> None:
        batcher = Batcher(run, max_rows=1)
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.submit("boom", 1)
        assert await batcher.submit("fine", 1) == "fine"
        with pytest.raises(RequestTimeout):
            await batcher.submit("hang", 1, timeout=0.1)
        hang.set()
        assert await batcher.submit("after", 1, timeout=5) == "after"
        batcher.shutdown()

    asyncio.run(main())

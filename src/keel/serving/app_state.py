"""What the model server's routes share: the host, the options, metrics, the access
check, the feedback log, and the background tasks (shadow copies) it keeps alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from keel.errors import KeelError, StoreUnavailable

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.serving.auth import PredictAuth
    from keel.serving.host import ModelHost
    from keel.serving.metrics import ServingMetrics
    from keel.serving.options import ServeOptions

DEFAULT_REQUEST_TIMEOUT = 30.0


@dataclass(eq=False)
class ServingState:
    options: ServeOptions
    settings: Settings
    host: ModelHost
    metrics: ServingMetrics
    auth: PredictAuth
    feedback: Any = None
    """The feedback log (``keel.predictions.feedback.FeedbackLog``), or None."""
    started: float = field(default_factory=time.monotonic)
    draining: bool = False
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def request_timeout(self) -> float:
        if self.options.request_timeout is not None:
            return self.options.request_timeout
        return self.settings.serve_request_timeout

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, holding a reference until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check_access(self, authorization: str | None) -> None:
        """Returns when the caller may predict (see :mod:`keel.serving.auth`)."""
        auth = self.auth
        if not auth.checks:
            return
        loop = asyncio.get_running_loop()
        enabled = auth.enabled_now()
        if enabled is None:
            enabled = await loop.run_in_executor(None, auth.refresh_enabled)
        if not enabled:
            return
        try:
            auth.check(authorization, blocking_ok=False)
        except LookupError:
            try:
                await loop.run_in_executor(
                    None, partial(auth.check, authorization, blocking_ok=True)
                )
            except KeelError:
                raise
            except Exception as exc:  # the store away: the token cannot be checked now
                raise StoreUnavailable(
                    "could not check the API token: the store does not answer; retry"
                ) from exc

    async def drain(self, timeout: float) -> None:
        """Answer what is queued and running, then let shadow copies finish."""
        self.draining = True
        deadline = time.monotonic() + timeout
        for model in self.host.routing.models():
            await model.batcher.drain(max(deadline - time.monotonic(), 0.0))
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=max(deadline - time.monotonic(), 0.1))

"""The run a logged call writes into: the active one, or its own, ended when it returns."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from keel.autologging.options import AutologOptions
from keel.entities import RunStatus

logger = logging.getLogger("keel.autologging")


class Logged:
    """One logged call: ``before`` logs what is known before training (params), then the
    call runs, then ``after`` logs what it produced. Logging never breaks the call: its
    failures become warnings (debug messages when ``silent``); the call's own errors
    propagate, and a run started here ends FAILED."""

    def __init__(self, options: AutologOptions) -> None:
        self.options = options

    def safely(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            self.warn(f"could not log {what}")

    def warn(self, message: str) -> None:
        """Say ``message`` with the exception being handled, unless ``silent``."""
        level = logging.DEBUG if self.options.silent else logging.WARNING
        logger.log(level, "keel.autolog: %s", message, exc_info=True)

    def run(
        self,
        run_name: str,
        call: Callable[[], Any],
        before: Callable[[], object],
        after: Callable[[Any], object],
    ) -> Any:
        import keel  # the public API: nothing but keel/__init__.py imports the fluent module

        owns_run = False
        if keel.active_run() is None:
            try:
                keel.start_run(run_name=run_name, tags=self.options.extra_tags)
                owns_run = True
            except Exception:
                self.warn("could not start a run; not logging")
                return call()
        self.safely("parameters", before)
        try:
            result = call()
        except BaseException:
            if owns_run:
                self.safely("the run's end", lambda: keel.end_run(RunStatus.FAILED))
            raise
        try:
            after(result)
        finally:
            if owns_run:
                self.safely("the run's end", lambda: keel.end_run(RunStatus.FINISHED))
        return result

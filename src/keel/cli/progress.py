"""Progress bars for transfers, and what a Ctrl-C during one leaves behind.

``transfer`` hands a command a ``TransferBar`` (the ``keel.entities.Progress`` the
lower layers report to). The bar is drawn with Rich on standard error, and only on a
terminal, and only once the transfer has run for ``DELAY_SECONDS``: pipes, ``--json``
output, tests and quick commands see nothing. A Ctrl-C during the transfer prints one
line saying how far it got and what to run, and the command exits 130, without a
traceback.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

DELAY_SECONDS = 1.0
"""A transfer shorter than this draws no bar."""
INTERRUPTED_EXIT_CODE = 130
"""What a shell reports for a command ended by SIGINT (128 + 2)."""

PAST = {
    "hashing": "hashed and stored in the local cache",
    "pushing": "pushed",
    "pulling": "pulled",
    "copying": "written",
    "uploading": "uploaded",
    "downloading": "downloaded",
}
"""How the line after a Ctrl-C names the files done in each phase."""


def make_console() -> Console:
    """Standard error, as Rich sees it (tests put a forced terminal here)."""
    from rich.console import Console

    return Console(stderr=True)


class LateBar:
    """A Rich bar on ``console`` (a terminal only) that shows itself once ``delay``
    seconds have passed; ``close`` takes it off. Subclasses count what it shows."""

    def __init__(
        self,
        label: str,
        console: Console | None,
        delay: float,
        make_bar: Callable[[Console], Any],
        **fields: Any,
    ) -> None:
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None
        self._timer: threading.Timer | None = None
        if console is not None and console.is_terminal:
            self._bar = make_bar(console)
            self._task = self._bar.add_task(label, total=None, **fields)
            self._timer = threading.Timer(delay, self._show)
            self._timer.daemon = True
            self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.start()

    def close(self) -> None:
        """Stop drawing and take the bar off the terminal (the command prints its line)."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()


class TransferBar(LateBar):
    """Counts what a transfer moved and draws it as a bar; safe to call from threads."""

    def __init__(self, label: str, console: Console | None, delay: float) -> None:
        self.what = label
        self.total_bytes = 0
        self.bytes_done = 0
        self.files = 0
        self.files_done = 0
        self.started = False  # has a phase been started (the counts mean something)?
        super().__init__(label, console, delay, _rich_bar, files="")

    # keel.entities.Progress -------------------------------------------------------------

    def start(self, total_bytes: int, files: int, what: str) -> None:
        with self._lock:
            self.what, self.total_bytes, self.files = what, total_bytes, files
            self.bytes_done = self.files_done = 0
            self.started = True
            if self._bar is not None:
                self._bar.reset(
                    self._task, total=total_bytes, description=what, files=f"0/{files:,}"
                )

    def advance(self, n_bytes: int) -> None:
        with self._lock:
            self.bytes_done += n_bytes
            if self._bar is not None:
                self._bar.advance(self._task, n_bytes)

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1
            if self._bar is not None:
                self._bar.update(self._task, files=f"{self.files_done:,}/{self.files:,}")

    def done_so_far(self) -> str:
        """``12 of 40 files pushed``, for the line after a Ctrl-C."""
        if not self.started:
            return "nothing was moved yet"
        return f"{self.files_done:,} of {self.files:,} files {PAST.get(self.what, self.what)}"


def _rich_bar(console: Console) -> Any:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[files]} files"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def transfer(
    label: str,
    *,
    resume: str | Callable[[TransferBar], str],
    console: Console | None = None,
    delay: float | None = None,
) -> Iterator[TransferBar]:
    """A bar for one command's transfer (``label`` until the first phase starts).

    On Ctrl-C prints ``interrupted: <how far>; <resume>`` on standard error and exits
    130. ``resume`` says what was kept and what to run, as plain words or worked out
    from the bar."""
    bar = TransferBar(
        label,
        make_console() if console is None else console,
        DELAY_SECONDS if delay is None else delay,
    )
    try:
        yield bar
    except KeyboardInterrupt:
        bar.close()
        advice = resume if isinstance(resume, str) else resume(bar)
        sys.stderr.write(f"interrupted: {bar.done_so_far()}; {advice}\n")
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    finally:
        bar.close()


class RowBar(LateBar):
    """Counts the rows a batch job scored (a ``keel.entities.progress.RowProgress``) and
    draws them as a bar, on the same terms as :class:`TransferBar`."""

    def __init__(self, label: str, console: Console | None, delay: float) -> None:
        self.what = label
        self.total_rows: int | None = None
        self.rows_done = 0
        super().__init__(label, console, delay, _rows_bar)

    def start(self, total_rows: int | None, what: str) -> None:
        with self._lock:
            self.what, self.total_rows, self.rows_done = what, total_rows, 0
            if self._bar is not None:
                self._bar.reset(self._task, total=total_rows, description=what)

    def advance(self, rows: int) -> None:
        with self._lock:
            self.rows_done += rows
            if self._bar is not None:
                self._bar.advance(self._task, rows)

    def done_so_far(self) -> str:
        """``40,000 of 100,000 rows scored``, for the line after a Ctrl-C."""
        total = "" if self.total_rows is None else f" of {self.total_rows:,}"
        return f"{self.rows_done:,}{total} rows scored"


def _rows_bar(console: Console) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def scoring(
    label: str, *, resume: str, console: Console | None = None, delay: float | None = None
) -> Iterator[RowBar]:
    """A bar for a batch job's rows; on Ctrl-C prints ``interrupted: <how far>;
    <resume>`` on standard error and exits 130, as :func:`transfer` does."""
    bar = RowBar(
        label,
        make_console() if console is None else console,
        DELAY_SECONDS if delay is None else delay,
    )
    try:
        yield bar
    except KeyboardInterrupt:
        bar.close()
        sys.stderr.write(f"interrupted: {bar.done_so_far()}; {resume}\n")
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    finally:
        bar.close()

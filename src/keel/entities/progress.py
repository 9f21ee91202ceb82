"""``Progress``: how a long transfer tells its caller how far it got.

Hashing, pushing, pulling, copying, uploading and downloading take an optional
``progress``; the command line draws it as a bar (``keel.cli.progress``), and on Ctrl-C
says from it what was kept. Nothing below the command line draws anything.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told what a transfer will move, then as it moves it. A transfer of several phases
    (hash, then upload) calls ``start`` again for each. Methods may be called from several
    threads at once."""

    def start(self, total_bytes: int, files: int, what: str) -> None:
        """A phase begins: ``files`` files of ``total_bytes`` bytes in all, ``what``
        being done to them ("hashing", "uploading", ...)."""
        ...

    def advance(self, n_bytes: int) -> None:
        """``n_bytes`` more bytes were moved."""
        ...

    def file_done(self) -> None:
        """One more file (or object) is whole where it was going."""
        ...


class RowProgress(Protocol):
    """Told how many rows a batch job will score, then as each chunk is scored
    (``keel predict``; the command line draws it as a bar)."""

    def start(self, total_rows: int | None, what: str) -> None:
        """Scoring begins: ``total_rows`` rows, or None where the input does not say how
        many it holds (a CSV file is not counted ahead)."""
        ...

    def advance(self, rows: int) -> None:
        """``rows`` more rows were scored and written."""
        ...

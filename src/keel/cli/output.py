"""How commands talk to people and scripts: Rich tables, ``--json``, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import orjson
import typer

TrackingUri = typer.Option(
    None,
    "--tracking-uri",
    "-t",
    envvar="KEEL_TRACKING_URI",
    help="Store to use: a folder, sqlite:///..., postgresql+psycopg://... or http://host:port.",
    show_envvar=True,
)
Json = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def client(tracking_uri: str | None) -> Any:
    from keel.client import Client

    return Client(tracking_uri)


def fail(exc: BaseException) -> NoReturn:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    sys.stderr.write(f"error: {first_line}\n")
    raise SystemExit(1)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left")
    for index, column in enumerate(columns):
        # Ids and names stay whole so they can be copied; the last column may wrap.
        table.add_column(column, no_wrap=index < len(columns) - 1, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int | None, end: int | None) -> str:
    if not start or not end:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}m"

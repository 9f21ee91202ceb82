"""The ``keel`` command: composes the command groups; errors become one line and exit 1."""

from __future__ import annotations

import sys

import typer

from keel.cli import artifacts, data, db, experiments, models, runs, server
from keel.cli.output import fail

app = typer.Typer(
    name="keel",
    help="Keel: track experiments, version data and models, serve and monitor them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("server")(server.server)
app.add_typer(db.app, name="db")
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except Exception as exc:
        if debug:
            raise
        fail(exc)

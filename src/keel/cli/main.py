"""The ``keel`` command: composes the command groups; errors become one line and exit 1.

A command line builds only the group it names (``keel data status`` imports and wires
the data commands, not the model or server ones), so a short command starts in tens of
milliseconds; ``keel --help`` and anything unknown build every group.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer

from keel.cli.output import fail

GROUPS: dict[str, str] = {
    "db": "keel.cli.db",
    "experiments": "keel.cli.experiments",
    "runs": "keel.cli.runs",
    "artifacts": "keel.cli.artifacts",
    "models": "keel.cli.models",
    "data": "keel.cli.data",
    "users": "keel.cli.users",
    "tokens": "keel.cli.tokens",
    "projects": "keel.cli.projects",
    "groups": "keel.cli.groups",
    "monitoring": "keel.cli.monitoring",
    "monitors": "keel.cli.monitors",
    "predictions": "keel.cli.predictions",
    "deployments": "keel.cli.deployments",
}
"""Command group -> the module whose ``app`` holds its commands."""


def build_app(only: str | None = None) -> typer.Typer:
    """The ``keel`` command with every group, or with just the one (or ``server``) named
    ``only``."""
    app = typer.Typer(
        name="keel",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)  # its help, and a group even when it holds one command
    app.command("version")(version)
    if only is None or only == "server":
        from keel.cli.server import server

        app.command("server")(server)
    if only is None or only == "serve":
        from keel.cli.serve import serve

        app.command("serve")(serve)
    if only is None or only == "audit":
        from keel.cli.audit import audit

        app.command("audit")(audit)
    if only is None or only == "lineage":
        from keel.cli.lineage import lineage

        app.command("lineage")(lineage)
    if only is None or only == "login":
        from keel.cli.login import login

        app.command("login")(login)
    if only is None or only == "predict":
        from keel.cli.predict import predict

        app.command("predict")(predict)
    for name, module in GROUPS.items():
        if only is None or only == name:
            app.add_typer(import_module(module).app, name=name)
    return app


def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        callback=lambda value: _print_version() if value else None,
        is_eager=True,
        help="Print the version (keel-mlops X.Y.Z) and exit.",
    ),
) -> None:
    """Keel: track experiments, version data and models, serve and monitor them."""


def version() -> None:
    """Print the installed version: keel-mlops X.Y.Z."""
    _print_version()


def _print_version() -> None:
    from keel.version import DISTRIBUTION, __version__

    typer.echo(f"{DISTRIBUTION} {__version__}")
    raise typer.Exit(0)


def __getattr__(name: str) -> Any:
    """``keel.cli.main.app``: the whole command, built on first use."""
    if name == "app":
        app = globals()["app"] = build_app()
        return app
    raise AttributeError(name)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    first = sys.argv[1] if len(sys.argv) > 1 else None
    commands = (
        "server",
        "serve",
        "audit",
        "lineage",
        "login",
        "predict",
        "version",
        "--version",
    )
    light = first in GROUPS or first in commands
    app = build_app(first if light else None)
    try:
        app()
    except Exception as exc:
        if debug:
            raise
        fail(exc)

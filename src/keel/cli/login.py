"""``keel login``"""

from __future__ import annotations

import sys

import typer


def login(
    url: str = typer.Argument(..., help="The server, e.g. https://keel.example.com."),
    token_stdin: bool = typer.Option(
        False, "--token-stdin", help="Read the token from standard input (for scripts)."
    ),
    forget: bool = typer.Option(False, "--forget", help="Remove the token saved for URL."),
) -> None:
    """Save an API token for a server (checked first); the client then sends it.
    KEEL_TRACKING_TOKEN, when set, wins over it."""
    from keel.access.login import forget as forget_token
    from keel.access.login import login as save
    from keel.config import Settings

    settings = Settings.from_env()
    if forget:
        path = forget_token(url, settings)
        typer.echo(f"forgot the token for {url} ({path})")
        return
    # Never an option's value: it would stay in the shell's history.
    token = sys.stdin.readline() if token_stdin else typer.prompt("API token", hide_input=True)
    who, path = save(url, token, settings)
    name = (who.get("principal") or {}).get("name", "?")
    typer.echo(f"logged in to {url} as {name!r}; token saved in {path}")

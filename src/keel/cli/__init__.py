"""``keel``: the command line (Typer + Rich)."""

"""The process's tracking URI as ``keel.set_tracking_uri`` last set it.

Every ``keel.Client`` built without a URI reads it, as
``MlflowClient()`` follows ``mlflow.set_tracking_uri``: the fluent API and a client made
beside it always talk to the same store.
"""

from __future__ import annotations

from pathlib import Path

_uri: str | None = None


def set_default_tracking_uri(uri: str | Path | None) -> None:
    """Set (``None``: forget) the URI a client made without one uses. A local folder is
    made absolute now, so a later ``os.chdir`` does not move the store."""
    global _uri
    if uri is None:
        _uri = None
        return
    text = str(uri)
    if "://" not in text and text.strip():
        text = str(Path(text).expanduser().resolve())
    _uri = text


def default_tracking_uri() -> str | None:
    return _uri

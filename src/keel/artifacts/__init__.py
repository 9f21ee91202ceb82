"""Artifact bytes: one store over fsspec (``keel.artifacts.store``), content hashes
(``keel.artifacts.hashing``). Import what you need from its module: hashing a file should
not load the store.

The functions below are MLflow's ``mlflow.artifacts`` module for users: they read a run's
artifacts through the tracking URI in use (``keel.set_tracking_uri``, else
``KEEL_TRACKING_URI``), every file checked against its recorded digest.

>>> keel.artifacts.download_artifacts(run_id=run_id, artifact_path="plots")  # doctest: +SKIP
>>> keel.artifacts.load_dict(f"runs:/{run_id}/config.json")                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
) -> str:
    """Download an artifact file or folder and return its local path (a new temporary
    folder unless ``dst_path`` is given). Name it by ``artifact_uri``
    (``runs:/<run_id>/<path>`` or ``models:/<name>/<version>``, ``models:/<name>@<alias>``)
    or by ``run_id`` and ``artifact_path``, not both."""
    if (artifact_uri is None) == (run_id is None):
        raise InvalidArgument(
            "artifact_uri, run_id: give exactly one (artifact_uri='runs:/<run_id>/<path>', "
            "or run_id= with artifact_path=)"
        )
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidArgument(
            "artifact_path: only with run_id; put the path in artifact_uri instead"
        )
    import keel  # the tracking URI in use is the fluent API's, reached through keel
    from keel.uri import parse_run_artifact_uri

    keel.flush()  # what this process logged a moment ago may still be on its way
    client = keel.Client()
    try:
        if artifact_uri is not None:
            if artifact_uri.startswith("models:/"):
                artifact_uri = client.registry.resolve(artifact_uri).source
            where = parse_run_artifact_uri(artifact_uri, field="artifact_uri")
            run_id, path = where.run_id, where.path
        else:
            path = artifact_path or ""
        assert run_id is not None
        destination = Path(dst_path or tempfile.mkdtemp(prefix="keel-artifacts-"))
        return str(client.download_artifacts(run_id, path, destination))
    finally:
        client.close()


def load_text(artifact_uri: str) -> str:
    """The text of one artifact file (UTF-8), by ``runs:/<run_id>/<path>``."""
    with tempfile.TemporaryDirectory(prefix="keel-artifacts-") as tmp:
        return _file(download_artifacts(artifact_uri, dst_path=tmp), artifact_uri).read_text(
            encoding="utf-8"
        )


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A JSON (or, named ``.yaml``/``.yml``, YAML) artifact file as a dict."""
    text = load_text(artifact_uri)
    if artifact_uri.endswith((".yaml", ".yml")):
        import yaml

        value = yaml.safe_load(text)
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"artifact_uri {artifact_uri!r}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"artifact_uri {artifact_uri!r}: holds a {type(value).__name__}, not a dict"
        )
    return value


def _file(local: str, artifact_uri: str) -> Path:
    path = Path(local)
    if not path.is_file():
        raise InvalidArgument(f"artifact_uri {artifact_uri!r}: is a folder, not a file")
    return path


__all__ = ["download_artifacts", "load_dict", "load_text"]

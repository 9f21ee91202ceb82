"""Where a model version comes from: a folder of a run's artifacts that holds a model.

A source is ``runs:/<run_id>/<path>``. The path is checked like every artifact path (no
absolute paths, ``..``, backslashes, NUL, or these behind percent-encoding); the run must
exist, and the tracking store's artifact records must hold ``<path>/keel-model.json`` for
it, the file every model package carries.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from keel.errors import InvalidArgument, NotFound
from keel.store.sql.tables import artifacts, runs
from keel.uri import RunArtifactUri, parse_run_artifact_uri

MAX_SOURCE_LENGTH = 1100


def parse_model_source(source: object, run_id: object = None) -> RunArtifactUri:
    """The checked source, or InvalidArgument naming the rule it breaks."""
    if isinstance(source, str) and len(source) > MAX_SOURCE_LENGTH:
        raise InvalidArgument(f"source: must be at most {MAX_SOURCE_LENGTH} characters")
    parsed = parse_run_artifact_uri(source, field="source")  # type: ignore[arg-type]
    if not parsed.path:
        raise InvalidArgument(
            f"source {source!r}: must name the model's folder in the run, "
            "runs:/<run_id>/<path>, not the run's artifact root"
        )
    if run_id is not None and run_id != parsed.run_id:
        raise InvalidArgument(
            f"run_id {run_id!r}: must be the run named in source ({parsed.run_id}), or left out"
        )
    return parsed


def require_model_at(conn: Connection, source: RunArtifactUri) -> None:
    """NotFound for an unknown run; InvalidArgument when the folder holds no model."""
    if (
        conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == source.run_id)).first()
        is None
    ):
        raise NotFound(f"source {str(source)!r}: run {source.run_id}: no such run")
    marker = source.manifest_path
    found = conn.execute(
        select(artifacts.c.path).where(
            artifacts.c.run_uuid == source.run_id, artifacts.c.path == marker
        )
    ).first()
    if found is None:
        raise InvalidArgument(
            f"source {str(source)!r}: not a model: run {source.run_id} has no artifact "
            f"{marker!r} (log the model with its package, then register it)"
        )

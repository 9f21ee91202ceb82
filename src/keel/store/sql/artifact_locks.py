"""When a run's artifact may no longer be written: the rule behind immutable artifacts.

A model version is reviewed, approved and served by what its run's files held when it
was registered; a finished run is a record of what happened. Neither may change later,
so a write (upload, overwrite) is refused when

- the run has ended (FINISHED, FAILED or KILLED): nothing is added or replaced;
- the run was ended and resumed: a file recorded before it last ended stays as it was
  (files added since may still be replaced until the run ends again);
- a model version's source (``runs:/<run>/<folder>``) holds the path, whatever the run's
  status: the registered package is frozen, folder and all.

Checked before the bytes are written (``RunArtifacts.upload_stream``) and again in the
transaction that records them, so a run ended mid-upload keeps its record.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from keel.entities import RunStatus
from keel.errors import Conflict, NotFound
from keel.store.sql.tables import artifacts, model_versions, runs


def check_artifact_writable(conn: Connection, run_id: str, path: str) -> None:
    """Raise Conflict (HTTP 409) naming the reason when ``path`` of run ``run_id`` is
    immutable, NotFound when there is no such run. One statement when no model version
    comes from the run (the common case: it runs once per uploaded file)."""
    a, mv = artifacts.c, model_versions.c
    created = select(a.created).where(a.run_uuid == run_id, a.path == path).scalar_subquery()
    versions = select(func.count()).where(mv.run_id == run_id).scalar_subquery()
    row = conn.execute(
        select(runs.c.status, runs.c.end_time, created, versions).where(runs.c.run_uuid == run_id)
    ).first()
    if row is None:
        raise NotFound(f"run {run_id}: no such run")
    status, end_time, recorded, pinned = RunStatus(row[0]), row[1], row[2], row[3]
    if status.is_terminal:
        raise Conflict(
            f"artifact {path!r}: run {run_id} is {status.value} and its artifacts are "
            "immutable; log artifacts before the run ends, or to a new run"
        )
    if end_time is not None and recorded is not None and recorded <= end_time:
        raise Conflict(
            f"artifact {path!r}: recorded before run {run_id} ended, so it is immutable "
            "even though the run was resumed; write it under another path"
        )
    if not pinned:
        return
    sources = conn.execute(
        select(mv.name, mv.version, mv.source)
        .where(mv.run_id == run_id)
        .order_by(mv.name, mv.version)
    ).all()
    for name, version, source in sources:
        folder = _source_folder(source, run_id)
        if not folder or path == folder or path.startswith(f"{folder}/"):
            raise Conflict(
                f"artifact {path!r}: part of model {name!r} version {version} "
                f"({source}), which is immutable; write it under another path or run"
            )


def _source_folder(source: str, run_id: str) -> str | None:
    """The folder a version's ``runs:/<run>/<folder>`` source names; ``None`` if the
    source cannot be read (then the whole run counts as pinned: refusing is the safe
    side)."""
    prefix = f"runs:/{run_id}"
    if source == prefix:
        return ""
    if source.startswith(f"{prefix}/"):
        return source[len(prefix) + 1 :].strip("/")
    return None

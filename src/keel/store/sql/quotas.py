"""Per-project storage use and quotas in SQL.

``projects.used_bytes`` is kept by the transaction that records each upload: a run's
artifacts (:func:`charge_artifacts`, from ``record_artifacts``) and dataset objects
(:meth:`SqlQuotas.charge`). Charging is one conditional ``UPDATE``: it adds the bytes
only while the project stays within ``quota_bytes`` (NULL: no limit), so two uploads at
once cannot both slip past the quota, and no upload ever scans what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update
from sqlalchemy.exc import NoResultFound

from keel.entities.access import DEFAULT_PROJECT_ID
from keel.entities.quota import ProjectUsage
from keel.errors import NotFound
from keel.store.sql.engine import read_transaction, write_transaction
from keel.store.sql.tables import artifacts, datasets, experiments, projects, runs

_IN_BATCH = 500
"""Paths per ``IN`` list when reading the sizes an artifact batch replaces."""

_PROJECT_OF_RUN = (
    select(experiments.c.project_id)
    .join(runs, runs.c.experiment_id == experiments.c.experiment_id)
    .where(runs.c.run_uuid == bindparam("run_id"))
    .scalar_subquery()
)
_WITHIN_QUOTA = or_(
    projects.c.quota_bytes.is_(None),
    bindparam("delta") <= 0,
    projects.c.used_bytes + bindparam("delta") <= projects.c.quota_bytes,
)
_CHARGE_RUN = (
    update(projects)
    .where(projects.c.id == _PROJECT_OF_RUN)
    .where(_WITHIN_QUOTA)
    .values(used_bytes=projects.c.used_bytes + bindparam("delta"))
)
_CHARGE = (
    update(projects)
    .where(projects.c.id == bindparam("project_id"))
    .where(_WITHIN_QUOTA)
    .values(used_bytes=projects.c.used_bytes + bindparam("delta"))
)


def _usage(row: Any) -> ProjectUsage:
    return ProjectUsage(row.name, int(row.used_bytes), row.quota_bytes)


def usage(conn: Connection, project_id: int) -> ProjectUsage:
    row = conn.execute(
        select(projects.c.name, projects.c.used_bytes, projects.c.quota_bytes).where(
            projects.c.id == project_id
        )
    ).one()
    return _usage(row)


def charge(conn: Connection, project_id: int, delta: int) -> None:
    """Add ``delta`` bytes to the project's use, in the caller's transaction; the 413
    ``PayloadTooLarge`` (naming the project, its quota and use) when it would pass the
    quota. A negative ``delta`` (a file replaced by a smaller one) always goes through."""
    if delta == 0:
        return
    done = conn.execute(_CHARGE, {"project_id": project_id, "delta": delta}).rowcount
    if not done:
        raise usage(conn, project_id).refusal(delta)


def charge_artifacts(conn: Connection, run_id: str, sizes: dict[str, int]) -> bool:
    """Charge the run's project for artifact records about to be written (``path``:
    ``size``), less the sizes of the records they replace; ``False`` when there is no
    such run. Two statements, the first also the check that the run exists (logging a
    folder records each file on its own, so this runs per file)."""
    paths: Sequence[str] = list(sizes)
    batches = [paths[i : i + _IN_BATCH] for i in range(0, len(paths), _IN_BATCH)] or [[]]
    found = conn.execute(
        select(runs.c.run_uuid, _replaced(run_id, batches[0])).where(runs.c.run_uuid == run_id)
    ).first()
    if found is None:
        return False
    replaced = int(found[1])
    for batch in batches[1:]:
        replaced += int(conn.execute(select(_replaced(run_id, batch))).scalar_one())
    delta = sum(sizes.values()) - replaced
    if delta != 0 and not conn.execute(_CHARGE_RUN, {"run_id": run_id, "delta": delta}).rowcount:
        project_id = conn.execute(select(_PROJECT_OF_RUN), {"run_id": run_id}).scalar_one()
        raise usage(conn, int(project_id)).refusal(delta)
    return True


def _replaced(run_id: str, paths: Sequence[str]) -> Any:
    """The bytes the run's records at ``paths`` hold now."""
    return (
        select(func.coalesce(func.sum(artifacts.c.size), 0))
        .where(artifacts.c.run_uuid == run_id, artifacts.c.path.in_(paths))
        .scalar_subquery()
    )


class SqlQuotas:
    """What the server asks before it streams an upload in, and how it charges dataset
    objects (which no other record counts)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def usage_of_run(self, run_id: str) -> ProjectUsage | None:
        """The use and quota of the run's project (one query); ``None`` for an unknown
        run."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(
                select(projects.c.name, projects.c.used_bytes, projects.c.quota_bytes).where(
                    projects.c.id == _PROJECT_OF_RUN
                ),
                {"run_id": run_id},
            ).first()
        return None if row is None else _usage(row)

    def project_for_dataset(self, name: str | None, project_id: int | None) -> int:
        """The project a dataset object upload is charged to: the dataset's, when it
        exists; else ``project_id`` (the project a new dataset is made in); else default."""
        if name is not None:
            with read_transaction(self.engine) as conn:
                found = conn.execute(
                    select(datasets.c.project_id).where(datasets.c.name == name)
                ).scalar()
            if found is not None:
                return int(found)
        return DEFAULT_PROJECT_ID if project_id is None else project_id

    def usage(self, project_id: int) -> ProjectUsage:
        with read_transaction(self.engine) as conn:
            try:
                return usage(conn, project_id)
            except NoResultFound:
                raise NotFound(f"project {project_id}: no such project") from None

    def charge(self, project_id: int, delta: int) -> ProjectUsage:
        """Charge ``delta`` bytes in a transaction of its own; the use after it."""
        with write_transaction(self.engine) as conn:
            charge(conn, project_id, delta)
            return usage(conn, project_id)

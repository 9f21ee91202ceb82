"""``SqlTrackingStore``: the tracking store on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    MetricHistory,
    Run,
    RunCreate,
    RunInfo,
    RunPage,
    RunStatus,
    RunWrite,
    ViewType,
    WriteBatch,
)
from keel.entities import rules as v
from keel.entities.access import canonical_name
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.ids import new_id
from keel.entities.run import TAG_LOST
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from keel.store.acting import current_actor
from keel.store.sql import audit
from keel.store.sql import rows as load
from keel.store.sql.analyze import AnalyzeSchedule, searched_rows
from keel.store.sql.artifact_locks import check_artifact_writable
from keel.store.sql.engine import make_engine, now_ms, read_transaction, write_transaction
from keel.store.sql.history import CHUNK_POINTS, metric_history, metric_history_chunks
from keel.store.sql.quotas import charge_artifacts
from keel.store.sql.search import search_runs as search_run_ids
from keel.store.sql.tables import artifacts, experiment_tags, experiments, projects, runs, tags
from keel.store.sql.writes import apply_batch, dialect_insert


class SqlTrackingStore:
    """Tracking metadata in a SQL database.

    The constructor only builds an engine; it neither connects nor migrates. Use
    :func:`keel.store.open_store` (which checks the schema) or run ``keel db upgrade``.
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        artifact_root: str,
        statistics: AnalyzeSchedule | None = None,
        actor: str = "anonymous",
    ) -> None:
        """``actor``: who the audit log names for a change made with no actor bound
        (``keel.store.acting``; a server binds each request's)."""
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.artifact_root = artifact_root.rstrip("/")
        self.actor = actor
        # Planner statistics follow large writes (see analyze.py).
        self._statistics = statistics or AnalyzeSchedule(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # experiments ---------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        project: str | None = None,
    ) -> str:
        """A new experiment, in ``project`` (a project's name; by default ``default``)."""
        v.check_name("experiment name", name)
        checked_tags = dict(v.check_tag(k, val) for k, val in (tags or {}).items())
        project_name = None if project is None else canonical_name(project, "project")
        now = now_ms()
        try:
            with write_transaction(self.engine) as conn:
                # The default project is the column's default: left out, so that this
                # code still writes to a database at an older revision (as tests make).
                placed: dict[str, int] = {}
                if project_name is not None:
                    project_id = conn.execute(
                        select(projects.c.id).where(projects.c.name == project_name)
                    ).scalar()
                    if project_id is None:
                        raise NotFound(f"project {project_name!r}: no such project")
                    placed["project_id"] = project_id
                if conn.execute(
                    select(experiments.c.experiment_id).where(experiments.c.name == name)
                ).first():
                    raise AlreadyExists(f"experiment {name!r}: already exists")
                exp_id = conn.execute(
                    experiments.insert()
                    .values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage=LifecycleStage.ACTIVE.value,
                        creation_time=now,
                        last_update_time=now,
                        **placed,
                    )
                    .returning(experiments.c.experiment_id)
                ).scalar_one()
                if not artifact_location:
                    conn.execute(
                        update(experiments)
                        .where(experiments.c.experiment_id == exp_id)
                        .values(artifact_location=f"{self.artifact_root}/{exp_id}")
                    )
                if checked_tags:
                    conn.execute(
                        experiment_tags.insert(),
                        [
                            {"experiment_id": exp_id, "key": k, "value": val}
                            for k, val in checked_tags.items()
                        ],
                    )
                self._audit(
                    conn,
                    AuditAction.EXPERIMENT_CREATE,
                    ResourceType.EXPERIMENT,
                    str(exp_id),
                    now,
                    after={"name": name, "tags": checked_tags},
                )
        except SqlIntegrityError:
            raise AlreadyExists(f"experiment {name!r}: already exists") from None
        return str(exp_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        found = None
        exp_id = _int_id(experiment_id)
        if exp_id is not None:
            with self.engine.connect() as conn:
                found = load.load_experiments(conn, experiments.c.experiment_id == exp_id)
        if not found:
            raise NotFound(f"experiment {experiment_id}: no such experiment")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.engine.connect() as conn:
            found = load.load_experiments(conn, experiments.c.name == name)
        return found[0] if found else None

    def search_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        stages = [stage.value for stage in view.stages()]
        with self.engine.connect() as conn:
            return load.load_experiments(conn, experiments.c.lifecycle_stage.in_(stages))

    def delete_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: LifecycleStage) -> None:
        exp_id = self._require_experiment(experiment_id)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            before = conn.execute(
                select(experiments.c.lifecycle_stage).where(experiments.c.experiment_id == exp_id)
            ).scalar_one()
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == exp_id)
                .values(lifecycle_stage=stage.value, last_update_time=now)
            )
            self._audit(
                conn,
                AuditAction.EXPERIMENT_DELETE
                if stage is LifecycleStage.DELETED
                else AuditAction.EXPERIMENT_RESTORE,
                ResourceType.EXPERIMENT,
                str(exp_id),
                now,
                before={"lifecycle_stage": before},
                after={"lifecycle_stage": stage.value},
            )
            conn.execute(
                update(runs)
                .where(runs.c.experiment_id == exp_id)
                .values(lifecycle_stage=stage.value)
            )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        key, value = v.check_tag(key, value)
        exp_id = self._require_experiment(experiment_id)
        with write_transaction(self.engine) as conn:
            where = (experiment_tags.c.experiment_id == exp_id) & (experiment_tags.c.key == key)
            before = conn.execute(select(experiment_tags.c.value).where(where)).scalar()
            conn.execute(delete(experiment_tags).where(where))
            conn.execute(
                experiment_tags.insert().values(experiment_id=exp_id, key=key, value=value)
            )
            self._audit(
                conn,
                AuditAction.EXPERIMENT_TAG_SET,
                ResourceType.EXPERIMENT,
                str(exp_id),
                now_ms(),
                before=None if before is None else {"key": key, "value": before},
                after={"key": key, "value": value},
            )

    def _require_experiment(self, experiment_id: str) -> int:
        exp_id = _int_id(experiment_id)
        with self.engine.connect() as conn:
            if (
                exp_id is None
                or not conn.execute(
                    select(experiments.c.experiment_id).where(experiments.c.experiment_id == exp_id)
                ).first()
            ):
                raise NotFound(f"experiment {experiment_id}: no such experiment")
        return exp_id

    # runs ----------------------------------------------------------------------------

    def run_artifact_uri(self, experiment_id: str, run_id: str) -> str:
        return f"{self.artifact_root}/{experiment_id}/{run_id}/artifacts"

    def create_run(
        self,
        experiment_id: str,
        *,
        run_id: str | None = None,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        run_id = run_id or new_id()
        batch = WriteBatch(
            batch_id=new_id(),
            runs=[
                RunWrite(
                    run_id=run_id,
                    create=RunCreate(
                        experiment_id=str(experiment_id),
                        run_name=run_name or default_run_name(run_id),
                        start_time=start_time if start_time is not None else now_ms(),
                        parent_run_id=parent_run_id,
                        user_id=user_id,
                    ),
                    tags=dict(tags or {}),
                )
            ],
        )
        self.write(batch)
        return self.get_run(run_id)

    def write(self, batch: WriteBatch) -> bool:
        v.check_batch(batch)
        with write_transaction(self.engine) as conn:
            applied = apply_batch(
                conn,
                batch,
                now=now_ms(),
                artifact_root_for=self.run_artifact_uri,
                actor=current_actor(""),  # "": each run's own user, else the store's
                default_actor=self.actor,
            )
        if applied:
            self._statistics.wrote(searched_rows(batch))
        return applied

    def get_run(self, run_id: str) -> Run:
        with read_transaction(self.engine) as conn:
            found = load.load_runs(conn, [run_id])
        if not found:
            raise NotFound(f"run {run_id}: no such run")
        return found[0]

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
            if RunStatus(status).is_terminal and end_time is None:
                end_time = now_ms()
        if end_time is not None:
            values["end_time"] = v.check_int("end_time", end_time)
        if run_name is not None:
            values["name"] = v.check_name("run_name", run_name)
        with write_transaction(self.engine) as conn:
            if values:
                fields = [runs.c[k] for k in values]
                before = conn.execute(select(*fields).where(runs.c.run_uuid == run_id)).first()
                if before is None:
                    raise NotFound(f"run {run_id}: no such run")
                conn.execute(update(runs).where(runs.c.run_uuid == run_id).values(values))
                ends = status is not None and RunStatus(status).is_terminal
                self._audit(
                    conn,
                    AuditAction.RUN_END if ends else AuditAction.RUN_UPDATE,
                    ResourceType.RUN,
                    run_id,
                    now_ms(),
                    before=dict(zip(values, before, strict=True)),
                    after=values,
                )
            row = conn.execute(select(*load.RUN_COLUMNS).where(runs.c.run_uuid == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id}: no such run")
        return load.run_info(row)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        with write_transaction(self.engine) as conn:
            before = conn.execute(
                select(runs.c.lifecycle_stage).where(runs.c.run_uuid == run_id)
            ).scalar_one_or_none()
            if before is None:
                raise NotFound(f"run {run_id}: no such run")
            conn.execute(
                update(runs).where(runs.c.run_uuid == run_id).values(lifecycle_stage=stage.value)
            )
            self._audit(
                conn,
                AuditAction.RUN_DELETE
                if stage is LifecycleStage.DELETED
                else AuditAction.RUN_RESTORE,
                ResourceType.RUN,
                run_id,
                now_ms(),
                before={"lifecycle_stage": before},
                after={"lifecycle_stage": stage.value},
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(tags).where(tags.c.run_uuid == run_id, tags.c.key == key))
            if result.rowcount == 0:
                self.get_run(run_id)
                raise NotFound(f"tag {key!r} of run {run_id}: no such tag")

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        with read_transaction(self.engine) as conn:
            return metric_history(conn, run_id, key, max_points=max_points)

    def iter_metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        chunk_points: int = CHUNK_POINTS,
    ) -> Generator[MetricHistory, None, None]:
        with read_transaction(self.engine) as conn:
            yield from metric_history_chunks(
                conn, run_id, key, max_points=max_points, chunk_points=chunk_points
            )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        *,
        view: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunPage:
        v.check_max_results(max_results)
        if not experiment_ids:
            raise InvalidArgument("experiment_ids: give at least one experiment id")
        if len(experiment_ids) > v.MAX_SEARCH_EXPERIMENTS:
            raise InvalidArgument(
                f"experiment_ids: at most {v.MAX_SEARCH_EXPERIMENTS} per search, "
                f"got {len(experiment_ids)}"
            )
        if order_by is not None and len(order_by) > v.MAX_ORDER_BY:
            raise InvalidArgument(
                f"order_by: at most {v.MAX_ORDER_BY} clauses, got {len(order_by)}"
            )
        with read_transaction(self.engine) as conn:
            ids, token = search_run_ids(
                conn,
                experiment_ids,
                filter_string,
                view=ViewType.parse(view),
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
            )
            found = load.load_runs(conn, ids)
        return RunPage(found, token)

    def reap_lost_runs(self, silent_for_ms: int) -> list[str]:
        cutoff = now_ms() - silent_for_ms
        with write_transaction(self.engine) as conn:
            lost = list(
                conn.execute(
                    select(runs.c.run_uuid).where(
                        runs.c.status == RunStatus.RUNNING.value, runs.c.last_heartbeat < cutoff
                    )
                ).scalars()
            )
            if lost:
                conn.execute(
                    update(runs)
                    .where(runs.c.run_uuid.in_(lost))
                    .values(status=RunStatus.KILLED.value, end_time=runs.c.last_heartbeat)
                )
                stmt = dialect_insert(conn, tags)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[tags.c.run_uuid, tags.c.key],
                        set_={"value": stmt.excluded.value},
                    ),
                    [{"run_uuid": r, "key": TAG_LOST, "value": "true"} for r in lost],
                )
                now = now_ms()
                audit.append_many(
                    conn,
                    [
                        audit.Entry(
                            AuditAction.RUN_END,
                            ResourceType.RUN,
                            run_id,
                            REAPER,
                            now,
                            before={"status": RunStatus.RUNNING.value},
                            after={"status": RunStatus.KILLED.value, "reason": "no heartbeat"},
                        )
                        for run_id in lost
                    ],
                )
        return lost

    def _audit(
        self,
        conn: Connection,
        action: AuditAction,
        kind: ResourceType,
        resource: str,
        now: int,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        actor = current_actor(self.actor)
        audit.append(
            conn, audit.Entry(action, kind, resource, actor, now, before=before, after=after)
        )

    # artifact records ----------------------------------------------------------------

    def record_artifacts(self, run_id: str, files: Sequence[FileInfo]) -> None:
        now = now_ms()
        rows = []
        for f in files:
            if f.is_dir or f.digest is None or f.file_size is None:
                raise InvalidArgument(f"artifact {f.path!r}: a record needs a size and digest")
            rows.append(
                {
                    "run_uuid": run_id,
                    "path": f.path,
                    "size": f.file_size,
                    "digest": f.digest,
                    "created": now,
                }
            )
        if not rows:
            return
        with write_transaction(self.engine) as conn:
            for row in rows:  # the run may have ended while the bytes were written
                check_artifact_writable(conn, run_id, str(row["path"]))
            # The run's project's stored bytes, in this transaction; past its quota: 413.
            if not charge_artifacts(conn, run_id, {f.path: f.file_size or 0 for f in files}):
                raise NotFound(f"run {run_id}: no such run")
            stmt = dialect_insert(conn, artifacts)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[artifacts.c.run_uuid, artifacts.c.path],
                    set_={
                        "size": stmt.excluded.size,
                        "digest": stmt.excluded.digest,
                        "created": stmt.excluded.created,
                    },
                ),
                rows,
            )

    def check_artifact_writable(self, run_id: str, path: str) -> None:
        """Raise Conflict if ``path`` of the run is immutable (see ``artifact_locks``)."""
        with self.engine.connect() as conn:
            check_artifact_writable(conn, run_id, path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        prefix = (path or "").strip("/")
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        a = artifacts.c
        query = select(a.path, a.size, a.digest).where(a.run_uuid == run_id)
        if prefix:
            query = query.where(a.path.like(like, escape="\\"))
        with read_transaction(self.engine) as conn:
            found = conn.execute(query.order_by(a.path)).all()
            if (
                not found
                and not conn.execute(
                    select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)
                ).first()
            ):
                raise NotFound(f"run {run_id}: no such run")
        start = len(prefix) + 1 if prefix else 0
        entries: dict[str, FileInfo] = {}
        for full, size, digest in found:
            rest = full[start:]
            head, sep, _ = rest.partition("/")
            child = f"{prefix}/{head}" if prefix else head
            if sep:
                entries.setdefault(child, FileInfo(child, True))
            else:
                entries[child] = FileInfo(child, False, size, digest)
        return list(entries.values())

    def get_artifact(self, run_id: str, path: str) -> FileInfo:
        a = artifacts.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(a.size, a.digest).where(a.run_uuid == run_id, a.path == path)
            ).first()
        if row is None:
            raise NotFound(f"artifact {path!r} of run {run_id}: not found")
        return FileInfo(path, False, row[0], row[1])


REAPER = "keel-server"
"""Who the audit log names for runs the server marks KILLED after their heartbeat stops."""


def _int_id(value: str) -> int | None:
    return v.int_id(value)


def default_run_name(run_id: str) -> str:
    return f"run-{run_id[:8]}"

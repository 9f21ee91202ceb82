"""``TrackingClient``: every tracking operation, by experiment and run id.

Writes (params, metrics, tags, ending runs) go through the background writer and return
at once; ``flush()`` waits until they are stored. Reads first send what this client has
buffered, so a client always reads its own writes.

>>> client = keel.Client("/tmp/keel-demo")                     # doctest: +SKIP
>>> run = client.create_run(client.create_experiment("demo"))  # doctest: +SKIP
>>> client.log_metric(run.run_id, "loss", 0.25, step=1)         # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import io
import json
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.artifacts.repository import ArtifactRepository, upload_path, walk
from keel.artifacts.store import local_destination, write_local_atomically
from keel.config import Settings
from keel.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    MetricColumns,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunCreate,
    RunData,
    RunEnd,
    RunInfo,
    RunPage,
    RunStatus,
    RunTag,
    ViewType,
)
from keel.entities import rules as v
from keel.entities.ids import new_id
from keel.entities.paths import safe_artifact_path
from keel.entities.progress import Progress
from keel.errors import Conflict, InvalidArgument
from keel.store import TrackingStore, open_backend
from keel.tracking.default_uri import default_tracking_uri
from keel.tracking.parents import parent_from_tags, with_parent_tag
from keel.tracking.spool import Spool
from keel.tracking.writer import BackgroundWriter
from keel.uri import store_key

if TYPE_CHECKING:
    from keel.store.backend import Backend


def now_ms() -> int:
    return int(time.time() * 1000)


class TrackingClient:
    """Tracking by experiment and run id. ``keel.Client`` (in :mod:`keel.client`) adds
    the registry, datasets and models of the same store.

    ``tracking_uri`` defaults to what ``keel.set_tracking_uri`` set, then
    ``KEEL_TRACKING_URI``, then the embedded store. ``backend`` hands in the stores
    already open (see :func:`keel.store.open_backend`); the client then closes it.
    ``token`` is the API token sent to a ``keel server`` (default: ``KEEL_TRACKING_TOKEN``,
    then the one ``keel login`` saved for that server)."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        backend: Backend | None = None,
        settings: Settings | None = None,
        token: str | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        if token is not None:
            self.settings = self.settings.with_tracking_token(token)
        if backend is not None and tracking_uri is not None and tracking_uri != backend.uri:
            raise InvalidArgument(
                f"tracking_uri {tracking_uri!r}: the backend handed in is of {backend.uri!r}"
            )
        self.tracking_uri = (
            tracking_uri
            or (backend.uri if backend is not None else None)
            or default_tracking_uri()
            or self.settings.tracking_uri
            or str(self.settings.home)
        )
        self.backend = backend or open_backend(self.tracking_uri, self.settings)
        self.store: TrackingStore = self.backend.tracking
        # Names the store in this machine's data state; worked out now, as a relative URI
        # means the folder of now.
        self._store_key = store_key(
            self.tracking_uri, artifacts_uri=self.settings.artifacts_uri, home=self.settings.home
        )
        self.artifacts: ArtifactRepository = self.backend.artifacts
        self._writer = BackgroundWriter(
            self.store,
            spool=Spool(self.settings.spool_path, self.tracking_uri)
            if self.backend.remote
            else None,
            flush_interval=self.settings.flush_interval,
            max_buffered_rows=self.settings.max_buffered_rows,
            heartbeat_interval=self.settings.heartbeat_interval,
        )
        self._params = LoggedParams()
        self._experiments: dict[str, Experiment] = {}
        self.user = self.settings.user or login_name()

    def close(self) -> None:
        self._writer.close()
        self.backend.close()

    def __enter__(self) -> TrackingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Block until every write made so far is durably stored (or, if the server is
        unreachable, safely spooled to disk for replay)."""
        self._writer.flush()

    # experiments ---------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        project: str | None = None,
    ) -> str:
        """A new experiment's id; it belongs to ``project`` (by default ``default``), whose
        roles say who may read and change it and its runs."""
        return self.store.create_experiment(
            name, artifact_location, dict(tags or {}), project=project
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: ViewType | str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments in ``view_type`` (``view`` is the same) matching ``filter_string``
        (MLflow's: ``"name LIKE 'churn-%' and tags.team = 'growth'"``; ``name``,
        ``creation_time``, ``last_update_time``, ``tags.KEY``), ordered by ``order_by``
        (``["name"]``, ``["creation_time DESC"]``), at most ``max_results``: one page
        (``token`` None), as the store answers them all at once."""
        from keel.entities.search.experiments import (
            experiment_matches,
            parse_experiment_filter,
            parse_experiment_order,
            sort_experiments,
        )

        node = parse_experiment_filter(filter_string)  # mistakes first, before a round trip
        order = parse_experiment_order(order_by)
        limit = None if max_results is None else v.check_int("max_results", max_results, minimum=1)
        found = self.store.search_experiments(ViewType.parse(view or view_type))
        if node is not None:
            found = [e for e in found if experiment_matches(node, e)]
        if order:
            found = sort_experiments(found, order)
        return PagedList(found[:limit], None)

    def resolve_experiment(self, id_or_name: str) -> Experiment:
        """The experiment ``id_or_name`` names: an id or a name. A name made of digits
        that is also another experiment's id is ambiguous and refused."""
        from keel.errors import NotFound

        text = str(id_or_name)
        by_id: Experiment | None = None
        if text.isdigit():
            try:
                by_id = self.store.get_experiment(text)
            except NotFound:
                by_id = None
        by_name = self.store.get_experiment_by_name(text)
        if (
            by_id is not None
            and by_name is not None
            and by_id.experiment_id != by_name.experiment_id
        ):
            raise InvalidArgument(
                f"experiment {text!r}: ambiguous, it is the id of {by_id.name!r} and the name "
                f"of experiment {by_name.experiment_id}; pass the other one's id"
            )
        found = by_id or by_name
        if found is None:
            raise NotFound(f"experiment {text!r}: no experiment has this id or name")
        return found

    def delete_experiment(self, experiment_id: str) -> None:
        self._experiments.pop(str(experiment_id), None)
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._experiments.pop(str(experiment_id), None)
        self.store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.store.set_experiment_tag(str(experiment_id), key, str(value))

    # runs ----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        synchronous: bool = True,
    ) -> Run:
        """Create a run and return it; it is stored (one round trip) when this returns,
        so every client can read it. With ``synchronous=False`` (bulk imports) the
        creation rides the background writer with the run's other writes instead, and
        the run appears at the next flush. The client sends heartbeats for it until
        :meth:`set_terminated`, so it is not reaped as lost."""
        return self.begin_run(
            self._experiment(str(experiment_id)),
            run_name=run_name,
            start_time=start_time,
            tags=tags,
            parent_run_id=parent_run_id,
            synchronous=synchronous,
        )

    def _experiment(self, experiment_id: str) -> Experiment:
        """An experiment as first read by this client: its id, artifact location and
        stage are all a run's creation needs, and the store checks the stage again."""
        found = self._experiments.get(experiment_id)
        if found is None:
            found = self.store.get_experiment(experiment_id)
            if len(self._experiments) >= 1_000:
                self._experiments.clear()
            self._experiments[experiment_id] = found
        return found

    def begin_run(
        self,
        experiment: Experiment,
        *,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        synchronous: bool = True,
    ) -> Run:
        """Create a run in ``experiment`` in one round trip: the id is made here and the
        run travels as a write batch of its own, sent now, ahead of anything queued. If
        the server is unreachable, the creation is spooled with the rest and the run
        appears when the server answers again. ``synchronous=False``: as
        :meth:`create_run`. Used by ``keel.start_run``."""
        run_id = new_id()
        name = run_name or f"run-{run_id[:8]}"
        v.check_name("run_name", name)
        checked = _tags(tags)
        parent_run_id = parent_from_tags(checked, parent_run_id)
        if parent_run_id is not None:
            v.check_run_id(parent_run_id)
        start = now_ms() if start_time is None else v.check_int("start_time", start_time)
        create = RunCreate(experiment.experiment_id, name, start, parent_run_id, self.user)
        if synchronous:
            self._writer.create_run_now(run_id, create, checked)
        else:
            self._writer.create_run(run_id, create, checked)
        self._writer.watch(run_id)
        info = RunInfo(
            run_id=run_id,
            experiment_id=experiment.experiment_id,
            run_name=name,
            status=RunStatus.RUNNING,
            start_time=start,
            end_time=None,
            lifecycle_stage=LifecycleStage.ACTIVE,  # the store creates none in a deleted one
            artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
            parent_run_id=parent_run_id,
            user_id=self.user,
            last_heartbeat=now_ms(),  # the store records its own clock's
        )
        return with_parent_tag(Run(info, RunData(tags=checked)))

    def resume_run(self, run_id: str, *, tags: Mapping[str, Any] | None = None) -> Run:
        """Mark an ended run RUNNING again (``keel.start_run(run_id=...)``), set ``tags``
        and send heartbeats for it until :meth:`set_terminated`."""
        self.update_run(run_id, status=RunStatus.RUNNING)
        if tags:
            self.set_tags(run_id, tags)
        run = self.get_run(run_id)
        self._writer.watch(run_id)
        return run

    def get_run(self, run_id: str) -> Run:
        """A run as stored; a child run's tags include MLflow's ``mlflow.parentRunId``."""
        self.flush()
        return with_parent_tag(self.store.get_run(run_id))

    def update_run(
        self, run_id: str, *, status: RunStatus | str | None = None, run_name: str | None = None
    ) -> RunInfo:
        self.flush()
        return self.store.update_run(
            run_id, status=RunStatus(status) if status else None, run_name=run_name
        )

    def set_terminated(
        self, run_id: str, status: RunStatus | str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End a run. Like every write, this returns at once (the end is sent right away
        by the background writer); call :meth:`flush` to wait until it is stored, or use
        :meth:`end_run`."""
        self._queue_end(run_id, status, end_time, wake=True)

    def end_run(
        self, run_id: str, status: RunStatus | str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End a run and return once its end, and everything logged to it, is stored (or
        spooled while the server is unreachable)."""
        self._queue_end(run_id, status, end_time, wake=False)
        self.flush()

    def _queue_end(
        self, run_id: str, status: RunStatus | str, end_time: int | None, *, wake: bool
    ) -> None:
        status = RunStatus(status)
        if not status.is_terminal:
            raise InvalidArgument(f"status: a run ends FINISHED, FAILED or KILLED, not {status}")
        self._writer.unwatch(run_id)
        self._params.forget(run_id)
        ended = RunEnd(status, end_time if end_time is not None else now_ms())
        self._writer.end_run(run_id, ended, wake=wake)

    def delete_run(self, run_id: str) -> None:
        self.flush()
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str | None = None,
        filter_string: str | None = None,
        run_view_type: ViewType | str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        *,
        view: ViewType | str | None = None,
        experiment_names: Sequence[str] | None = None,
    ) -> RunPage:
        """Runs matching ``filter_string`` (e.g. ``"metrics.acc > 0.9 and
        params.model = 'rf'"``), one page at a time: a :class:`~keel.entities.PagedList`
        whose ``token`` fetches the next page. Experiments by id (``experiment_ids``) and
        by name (``experiment_names``; an unknown name is NotFound); ``view`` is the same
        as ``run_view_type``."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        ids = [str(e) for e in experiment_ids or ()]
        if isinstance(experiment_names, str):
            experiment_names = [experiment_names]
        for name in experiment_names or ():
            found = self.store.get_experiment_by_name(name)
            if found is None:
                from keel.errors import NotFound

                raise NotFound(f"experiment_names: no experiment is named {name!r}")
            ids.append(found.experiment_id)
        if not ids:
            raise InvalidArgument("experiment_ids: give at least one experiment id or name")
        self.flush()
        page = self.store.search_runs(
            list(dict.fromkeys(ids)),
            filter_string,
            view=ViewType.parse(view or run_view_type or ViewType.ACTIVE_ONLY),
            max_results=max_results,
            order_by=list(order_by) if order_by else None,
            page_token=page_token,
        )
        return RunPage([with_parent_tag(r) for r in page], page.token)

    def reap_lost_runs(self, silent_for: float | None = None) -> list[str]:
        """Mark RUNNING runs silent for ``silent_for`` seconds (default
        ``KEEL_RUN_TIMEOUT``) KILLED, tagged ``keel.lost``; returns their ids."""
        seconds = self.settings.run_timeout if silent_for is None else silent_for
        return self.store.reap_lost_runs(int(seconds * 1000))

    # logging -------------------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_params(run_id, {key: value})

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        checked = dict(v.check_param(k, _stringify(val)) for k, val in params.items())
        self._params.check_and_add(run_id, checked)
        self._writer.log_params(run_id, checked)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        ts = now_ms() if timestamp is None else timestamp
        step = 0 if step is None else step
        value, ts, step = v.check_metric(key, value, ts, step)
        self._writer.log_metric(run_id, key, value, ts, step)

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        ts = now_ms() if timestamp is None else timestamp
        step = 0 if step is None else step
        columns = MetricColumns()
        for key, raw in metrics.items():
            columns.append(key, *v.check_metric(key, raw, ts, step))
        self._writer.log_metrics(run_id, columns)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._writer.set_tags(run_id, _tags(tags))

    def delete_tag(self, run_id: str, key: str) -> None:
        self.flush()
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Log many points, params and tags at once, of any size: the writer splits them
        into requests under the server's limit. Call :meth:`flush` to wait for storage."""
        if params:
            self.log_params(run_id, {p.key: p.value for p in params})
        if tags:
            self.set_tags(run_id, {t.key: t.value for t in tags})
        columns = MetricColumns()
        for m in metrics:
            columns.append(m.key, *v.check_metric(m.key, m.value, m.timestamp, m.step))
        if len(columns):
            self._writer.log_metrics(run_id, columns)

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        """Every point of a metric, or with ``max_points`` a downsampled series that keeps
        each bucket's first, last, lowest and highest point (for charts)."""
        self.flush()
        return self.store.get_metric_history(run_id, key, max_points=max_points)

    # artifacts -----------------------------------------------------------------------

    def log_artifact(
        self,
        run_id: str,
        local_path: str | Path,
        artifact_path: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> list[FileInfo]:
        """Upload a file (or a folder, recursively) under ``artifact_path``."""
        self.flush()
        return upload_path(
            self.artifacts, run_id, Path(local_path), artifact_path, progress=progress
        )

    def log_artifacts(
        self,
        run_id: str,
        local_dir: str | Path,
        artifact_path: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> list[FileInfo]:
        """Upload the contents of a folder under ``artifact_path``."""
        folder = Path(local_dir)
        if not folder.is_dir():
            raise InvalidArgument(f"local_dir {str(folder)!r}: not a folder")
        self.flush()
        return upload_path(
            self.artifacts, run_id, folder, artifact_path, contents_only=True, progress=progress
        )

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> FileInfo:
        self.flush()
        return self.artifacts.upload_stream(run_id, safe_artifact_path(artifact_file), [data])

    def log_text(self, run_id: str, text: str, artifact_file: str) -> FileInfo:
        return self.log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> FileInfo:
        """Save a dict as JSON, or YAML when the name ends in .yaml/.yml (needs PyYAML)."""
        if artifact_file.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise InvalidArgument(
                    f"artifact_file {artifact_file!r}: YAML needs PyYAML (pip install pyyaml); "
                    "or use a .json name"
                ) from None
            text = yaml.safe_dump(dict(dictionary), sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        return self.log_text(run_id, text, artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> FileInfo:
        """Save a pandas DataFrame or a dict of columns as a ``.json`` artifact, in the
        layout MLflow's ``log_table`` writes (``columns`` and ``data``)."""
        from keel.tracking.table_artifact import table_json

        return self.log_text(run_id, table_json(data, artifact_file), artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> FileInfo:
        """Save a matplotlib or plotly figure; the format follows the file's extension."""
        buffer = io.BytesIO()
        module = type(figure).__module__
        if module.startswith("matplotlib"):
            figure.savefig(buffer, format=Path(artifact_file).suffix.lstrip(".") or "png")
        elif module.startswith("plotly"):
            if artifact_file.endswith(".html"):
                buffer.write(figure.to_html().encode())
            else:
                buffer.write(figure.to_image(format=Path(artifact_file).suffix.lstrip(".")))
        else:
            raise InvalidArgument(
                f"figure: expected a matplotlib or plotly figure, got {type(figure).__name__}"
            )
        return self.log_bytes(run_id, buffer.getvalue(), artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        self.flush()
        return self.artifacts.list(run_id, path)

    def download_artifacts(
        self,
        run_id: str,
        path: str = "",
        dst_path: str | Path | None = None,
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Download a file or folder; every file is checked against its recorded digest.
        Returns the local path of what was asked for."""
        self.flush()
        destination = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="keel-"))
        files = walk(self.artifacts, run_id, path)
        relative_base = safe_artifact_path(path, allow_root=True)
        # Every path the listing gave is checked before the first file is written.
        targets = [(info, local_destination(destination, info.path)) for info in files]
        if progress is not None:
            progress.start(sum(f.file_size or 0 for f in files), len(files), "downloading")
        for info, target in targets:
            write_local_atomically(
                target, self.artifacts.read_chunks(run_id, info.path), progress=progress
            )
            if progress is not None:
                progress.file_done()
        return destination / relative_base if relative_base else destination


class LoggedParams:
    """The params this client logged to runs it has not ended, so that a second value
    for a key is refused at the call (the store refuses it again, for every client).
    Bounded: the runs ended here are forgotten, and so are the oldest past a limit."""

    MAX_RUNS = 10_000

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, str]] = {}

    def check_and_add(self, run_id: str, params: Mapping[str, str]) -> None:
        known = self._runs.get(run_id)
        if known is None:
            if len(self._runs) >= self.MAX_RUNS:
                del self._runs[next(iter(self._runs))]
            known = self._runs[run_id] = {}
        for key, value in params.items():
            old = known.get(key)
            if old is not None and old != value:
                raise Conflict(
                    f"param {key!r} of run {run_id}: already logged as {old[:100]!r}, cannot "
                    f"change to {value[:100]!r} (params are immutable)"
                )
        known.update(params)

    def forget(self, run_id: str) -> None:
        self._runs.pop(run_id, None)


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(v.check_tag(k, _stringify(val)) for k, val in (tags or {}).items())


def login_name() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None

"""The fluent API: ``keel.start_run()``, ``keel.log_metric()`` and friends.

The client, the tracking URI and the current experiment are process-wide. The stack of
active runs is kept per context (a :class:`~contextvars.ContextVar`), so runs started in
different threads or asyncio tasks never nest inside each other nor receive each other's
metrics. A new thread starts with no active run; hand it the parent explicitly::

    parent = keel.active_run()

    def trial(i):
        with keel.start_run(nested=True, parent_run_id=parent.run_id):
            keel.log_metric("loss", i)

    # or run the worker in a copy of this context, where `parent` is the active run:
    pool.submit(contextvars.copy_context().run, trial, i)

A run is visible to every client once :func:`start_run` returns, and its end (with
everything logged to it) once its ``with`` block exits or :func:`end_run` returns.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from keel.autologging import system_metrics
from keel.client import Client
from keel.entities import (
    Experiment,
    FileInfo,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from keel.entities.rules import MAX_SEARCH_RESULTS
from keel.errors import AlreadyExists, InvalidArgument, KeelError
from keel.tracking.code_version import find_code_version
from keel.tracking.default_uri import set_default_tracking_uri

if TYPE_CHECKING:
    from keel.data.mlflow_dataset import PandasDataset
    from keel.entities.dataset import DatasetVersion
    from keel.entities.registry import ModelVersion
    from keel.models import LoadedModel
    from keel.models.logged import LoggedModel

DEFAULT_EXPERIMENT = "Default"
NOTE_TAG = "mlflow.note.content"
"""The tag MLflow keeps a run's description in (``start_run(description=...)``)."""
log = logging.getLogger(__name__)


class ActiveRun:
    """A run started by :func:`start_run`; ends it when used as a context manager
    (FINISHED, or FAILED when the block raises)."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, name={self.info.run_name!r})"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failed = exc_type is not None and not issubclass(exc_type, GeneratorExit)
        if failed and _state.terminating:
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED if failed else RunStatus.FINISHED
        try:
            _end(self, status)
        except KeelError as error:
            if not failed:
                raise
            # The block's own exception is the one to see; this one must not replace it.
            log.error("keel: could not end run %s: %s", self.run_id, error)


class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM once a run has started: the runs it unwinds
    end KILLED, and the process exits with status 143 as an unhandled SIGTERM's would."""


class _Process:
    """What the fluent API shares across threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracking_uri: str | None = None
        self.client: Client | None = None
        self.experiment: Experiment | None = None
        self.open: dict[str, ActiveRun] = {}
        """Every run started here and not ended yet, in whichever context: ended at exit."""
        self.monitors: dict[str, system_metrics.SystemMetricsMonitor] = {}
        """The system metrics thread of each open run that logs them."""
        self.hooks_installed = False
        self.uncaught = False
        self.terminating = False


_state = _Process()
_stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar("keel_active_runs", default=())
_last_run_id: ContextVar[str | None] = ContextVar("keel_last_run_id", default=None)


def _client() -> Client:
    client = _state.client
    if client is not None:  # the common case, without taking the lock
        return client
    with _state.lock:
        if _state.client is None:
            _state.client = Client(_state.tracking_uri)
        return _state.client


def set_tracking_uri(uri: str | Path | None) -> None:
    """Point the fluent API, and every ``keel.Client()`` made without a URI, at a store:
    a folder, ``sqlite:///...``, ``postgresql+psycopg://...`` or ``http://host:port``.
    ``None`` means ``KEEL_TRACKING_URI`` or the embedded store."""
    with _state.lock:
        if _state.open:
            raise InvalidArgument("tracking URI: cannot change it while a run is active")
        if _state.client is not None:
            _state.client.close()
        set_default_tracking_uri(uri)
        _state.tracking_uri = str(uri) if uri is not None else None
        _state.client = None
        _state.experiment = None


def get_tracking_uri() -> str:
    return _client().tracking_uri


def set_experiment(
    name: str | None = None,
    *,
    experiment_id: str | None = None,
    experiment_name: str | None = None,
) -> Experiment:
    """Make ``name`` (created if new) or ``experiment_id`` the experiment new runs go to;
    ``experiment_name`` is MLflow's keyword for ``name``."""
    if experiment_name is not None:
        if name is not None:
            raise InvalidArgument("experiment_name: the same as name; give one of them")
        name = experiment_name
    client = _client()
    if (name is None) == (experiment_id is None):
        raise InvalidArgument("set_experiment: give exactly one of name or experiment_id")
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        assert name is not None
        experiment = _get_or_create_experiment(client, name)
    if experiment.lifecycle_stage != "active":
        raise InvalidArgument(
            f"experiment {experiment.name!r}: is deleted; restore it with "
            f"`keel experiments restore {experiment.experiment_id}`"
        )
    with _state.lock:
        _state.experiment = experiment
    return experiment


def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> str:
    """Create an experiment and return its id (it does not become the active one; see
    :func:`set_experiment`)."""
    return _client().create_experiment(
        name, artifact_location, {k: str(v) for k, v in (tags or {}).items()}
    )


def _get_or_create_experiment(client: Client, name: str) -> Experiment:
    found = client.get_experiment_by_name(name)
    if found is None:
        with contextlib.suppress(AlreadyExists):  # another process may make it first
            client.create_experiment(name)
        found = client.get_experiment_by_name(name)
        assert found is not None
    return found


def _current_experiment(client: Client) -> Experiment:
    with _state.lock:
        if _state.experiment is None:
            _state.experiment = _get_or_create_experiment(client, DEFAULT_EXPERIMENT)
        return _state.experiment


def start_run(
    run_id: str | None = None,
    *,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
    log_code_version: bool = True,
    log_system_metrics: bool | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one in this context.
    When it returns, the run is stored and every client can read it.
    ``log_system_metrics``: sample CPU, memory, disk, network and GPUs while it runs (None:
    as ``keel.enable_system_metrics_logging()`` or ``KEEL_ENABLE_SYSTEM_METRICS_LOGGING``).
    ``description``: the run's note, stored as MLflow stores it (tag
    ``mlflow.note.content``).

    >>> with keel.start_run(run_name="baseline") as run:   # doctest: +SKIP
    ...     keel.log_metric("loss", 0.5, step=1)
    """
    client = _client()
    _install_hooks()
    stack = _stack.get()
    if stack and not nested:
        raise InvalidArgument(
            f"run {stack[-1].run_id} is already active; end it with keel.end_run() "
            "or pass nested=True to start a child run"
        )
    if parent_run_id is None and nested and stack:
        parent_run_id = stack[-1].run_id
    if description is not None:
        if not isinstance(description, str):
            raise InvalidArgument(f"description: must be text, got {type(description).__name__}")
        tags = {**(tags or {}), NOTE_TAG: description}
    monitored = system_metrics.wanted(log_system_metrics, client.settings)
    if run_id is not None:
        run = client.resume_run(run_id, tags=tags)
    else:
        experiment = (
            client.get_experiment(experiment_id) if experiment_id else _current_experiment(client)
        )
        all_tags = dict(tags or {})
        if log_code_version:
            all_tags = {**_source_tags(), **all_tags}
        run = client.begin_run(
            experiment, run_name=run_name, tags=all_tags, parent_run_id=parent_run_id
        )
    active = ActiveRun(run)
    _stack.set((*stack, active))
    with _state.lock:
        _state.open[active.run_id] = active
    if monitored:
        _start_system_metrics(client, active.run_id)
    return active


def _start_system_metrics(client: Client, run_id: str) -> None:
    def log(metrics: dict[str, float], step: int) -> None:
        client.log_metrics(run_id, metrics, step)

    monitor = system_metrics.SystemMetricsMonitor(
        log, interval=system_metrics.sampling_interval(client.settings)
    )
    with _state.lock:
        _state.monitors[run_id] = monitor
    monitor.start()


def _source_tags() -> dict[str, str]:
    tags: dict[str, str] = {}
    version = find_code_version()
    if version is not None:
        tags.update(version.to_tags())
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file:
        tags["keel.source.name"] = Path(main_file).name
    return tags


def active_run() -> ActiveRun | None:
    """The innermost run started in this context (thread or task) and not ended yet."""
    stack = _stack.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The run most recently ended by the fluent API in this context, as stored."""
    run_id = _last_run_id.get()
    return _client().get_run(run_id) if run_id else None


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run of this context. When it returns, the end and everything
    logged to the run are stored (or spooled, if the server is unreachable)."""
    stack = _stack.get()
    if stack:
        _end(stack[-1], RunStatus(status))


def _end(active: ActiveRun, status: RunStatus) -> None:
    """End ``active`` (it may be below the top of the stack: a child started without
    ``with`` is still open) unless it has ended already."""
    with _state.lock:
        if _state.open.pop(active.run_id, None) is None:
            return  # ended already (keel.end_run in the block): keep the status it got
        monitor = _state.monitors.pop(active.run_id, None)
    if monitor is not None:
        monitor.stop()  # before the end: no sample lands after it
    stack = _stack.get()
    if active in stack:
        _stack.set(tuple(run for run in stack if run is not active))
    _last_run_id.set(active.run_id)
    _client().end_run(active.run_id, status)


def _run_id() -> str:
    active = active_run()
    if active is not None:
        return active.run_id
    with _state.lock:
        elsewhere = next(iter(_state.open), None)
    if elsewhere is not None:
        raise InvalidArgument(
            f"no run is active in this thread (run {elsewhere} is active in another); "
            "start one here, or hand the run over: "
            "keel.start_run(nested=True, parent_run_id=...) for a child run, or "
            "contextvars.copy_context().run(fn) to run fn in the starting thread's context"
        )
    return start_run().run_id


def flush() -> None:
    """Block until everything logged so far is stored."""
    if _state.client is not None:
        _state.client.flush()


def log_param(key: str, value: Any) -> None:
    _client().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _client().log_params(_run_id(), params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    _client().log_metric(_run_id(), key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    _client().log_metrics(_run_id(), metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _client().set_tags(_run_id(), tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> list[FileInfo]:
    return _client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[FileInfo]:
    return _client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> FileInfo:
    return _client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> FileInfo:
    return _client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> FileInfo:
    return _client().log_figure(_run_id(), figure, artifact_file)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> FileInfo:
    """Save a DataFrame or a dict of columns as a ``.json`` table artifact of the active
    run (or of ``run_id``), as MLflow's ``log_table``."""
    return _client().log_table(run_id or _run_id(), data, artifact_file)


def log_dataset(
    data: Any, *, name: str, context: str = "training", description: str = ""
) -> DatasetVersion:
    """Version ``data`` (a pandas or polars DataFrame, or a file or folder path) as a
    dataset version and record it as an input of the active run::

        keel.log_dataset(train_df, name="churn", context="training")
    """
    return _client().log_dataset(
        _run_id(), data, name=name, context=context, description=description
    )


def log_input(dataset: PandasDataset, context: str | None = None) -> DatasetVersion:
    """MLflow's ``log_input``: version the frame of ``keel.data.from_pandas(...)`` and
    record it as an input of the active run (``context`` default ``training``)."""
    from keel.data.mlflow_dataset import PandasDataset

    if not isinstance(dataset, PandasDataset):
        raise InvalidArgument(
            f"dataset: expected what keel.data.from_pandas returns, got {type(dataset).__name__}"
            " (or use keel.log_dataset(frame, name=...))"
        )
    return log_dataset(
        dataset.df,
        name=dataset.name,
        context=context or "training",
        description=dataset.description,
    )


def log_model(model: Any, name: str | None = None, **options: Any) -> LoggedModel:
    """Log ``model`` to the active run as a Keel model package; returns its ``runs:/`` URI
    and manifest. Options as in :func:`keel.models.save_model` (``signature``,
    ``input_example``, ``requirements``, ``serialization``, ``metadata``, ``onnx``), and
    MLflow's ``artifact_path``, ``registered_model_name``, ``pip_requirements`` and
    ``extra_pip_requirements`` (see :meth:`Client.log_model`)::

        info = keel.log_model(clf, name="model", input_example=X[:5],
                              registered_model_name="churn")
    """
    from keel.models.log_options import LogOptions

    LogOptions.parse(name, options)  # a bad keyword is refused before a run is started
    return _client().log_model(_run_id(), model, name, **options)


def load_model(uri: str, *, trust: bool = False, flavor: str | None = None) -> LoadedModel:
    """Load a model by ``models:/name@alias``, ``models:/name/3`` or ``runs:/<id>/<path>``;
    see :meth:`Client.load_model`. Before anything was logged in this process, only a
    registry reader and an artifact reader are built: no writer thread, no spool."""
    client = _state.client
    if client is not None:
        return client.load_model(uri, trust=trust, flavor=flavor)
    from keel.config import Settings
    from keel.registry.loading import ModelSource
    from keel.registry.loading import load_model as load
    from keel.store import open_backend
    from keel.tracking.default_uri import default_tracking_uri

    settings = Settings.from_env()
    where = default_tracking_uri() or settings.tracking_uri or str(settings.home)
    with open_backend(where, settings) as backend:
        source = ModelSource(backend.registry, backend.artifacts)
        return load(uri, source, settings=settings, trust=trust, flavor=flavor)


def register_model(model_uri: str | LoggedModel, name: str, **options: Any) -> ModelVersion:
    """Register a logged model (``runs:/<run_id>/<path>``, or what ``keel.log_model``
    returned) as the next version of ``name``; see :meth:`RegistryClient.register_model`.
    The parameters have MLflow's names: ``keel.register_model(model_uri=..., name=...)``."""
    uri = model_uri if isinstance(model_uri, str) else model_uri.uri
    return _client().registry.register_model(uri, name, **options)


# reading runs and experiments (MLflow's module-level getters) ----------------------------

SEARCH_MAX_RESULTS_PANDAS = 100_000  # MLflow's default for keel.search_runs


def search_runs(
    experiment_ids: Sequence[str] | str | None = None,
    filter_string: str = "",
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching ``filter_string``, as a pandas DataFrame (``output_format="pandas"``,
    MLflow's columns: ``run_id``, ``status``, ``start_time``, ``metrics.acc``,
    ``params.lr``, ``tags.team`` ...) or a list of :class:`Run` (``"list"``), every page
    up to ``max_results``. Without ``experiment_ids`` or ``experiment_names``: the active
    experiment, or every active one with ``search_all_experiments=True``::

        df = keel.search_runs(experiment_names=["churn"], filter_string="metrics.auc > 0.8")
    """
    if output_format not in ("pandas", "list"):
        raise InvalidArgument(f"output_format {output_format!r}: expected 'pandas' or 'list'")
    from keel.entities.rules import check_int

    wanted = check_int("max_results", max_results, minimum=1)
    client = _client()
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    ids = [str(e) for e in experiment_ids or ()]
    if not ids and not experiment_names:
        if search_all_experiments:
            ids = [e.experiment_id for e in client.search_experiments()]
        else:
            ids = [_current_experiment(client).experiment_id]
    runs: list[Run] = []
    token: str | None = None
    while True:
        page = client.search_runs(
            ids,
            filter_string or None,
            run_view_type,
            min(wanted - len(runs), MAX_SEARCH_RESULTS),
            order_by,
            token,
            experiment_names=experiment_names,
        )
        runs.extend(page)
        token = page.token
        if token is None or len(runs) >= wanted:
            break
    if output_format == "list":
        return runs
    from keel.tracking.run_frame import runs_to_frame

    return runs_to_frame(runs)


def get_run(run_id: str) -> Run:
    """A run as stored: info, latest metrics, params and tags."""
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Delete a run (restorable with ``keel runs restore``)."""
    _client().delete_run(run_id)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment named ``name``, or None if there is none."""
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> PagedList[Experiment]:
    """Experiments, e.g. ``keel.search_experiments(filter_string="name LIKE 'churn-%'")``;
    see :meth:`keel.Client.search_experiments`."""
    return _client().search_experiments(view_type, max_results, filter_string, order_by)


def set_experiment_tag(key: str, value: Any) -> None:
    """Tag the active experiment (the one :func:`set_experiment` chose, else Default)."""
    client = _client()
    client.set_experiment_tag(_current_experiment(client).experiment_id, key, str(value))


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifact root, or of ``artifact_path`` below it (a run
    is started if none is active, as for logging)."""
    run_id = _run_id()
    active = active_run()
    root = (
        active.info.artifact_uri
        if active is not None and active.run_id == run_id
        else _client().get_run(run_id).info.artifact_uri
    )
    if not artifact_path:
        return root
    from keel.entities.paths import safe_artifact_path

    return f"{root.rstrip('/')}/{safe_artifact_path(artifact_path, field='artifact_path')}"


# process exit ----------------------------------------------------------------------------


def _install_hooks() -> None:
    with _state.lock:
        if _state.hooks_installed:
            return
        _state.hooks_installed = True
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _state.uncaught = True
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_end_runs_at_exit)
    _end_runs_on_sigterm()


def _end_runs_on_sigterm() -> None:
    """End open runs KILLED when the process is terminated (a scheduler's stop, ``kill``),
    then let SIGTERM do what it did before: the default exit, or the handler already set."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; atexit still ends the runs
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN or previous is None:
        return  # someone chose to ignore it, or it was set outside Python: leave it

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        _state.terminating = True
        if callable(previous):
            previous(signum, frame)  # a handler that exits ends the runs KILLED
            _state.terminating = False  # it chose to keep going: so do the runs
            return
        # Unwinding, not ending runs here: the handler may have interrupted this thread
        # inside the writer's lock. `with` blocks end their runs KILLED on the way out,
        # exit ends the rest, and the process exits 128 + SIGTERM as it would have.
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def _end_runs_at_exit() -> None:
    if _state.terminating:
        status = RunStatus.KILLED
    elif _state.uncaught:
        status = RunStatus.FAILED
    else:
        status = RunStatus.FINISHED
    _end_open_runs(status)


def _end_open_runs(status: RunStatus) -> None:
    """End every open run, in every context, innermost first."""
    with _state.lock:
        open_runs = list(_state.open.values())
    for active in reversed(open_runs):
        try:
            _end(active, status)
        except KeelError as exc:
            log.error("keel: could not end run %s: %s", active.run_id, exc)

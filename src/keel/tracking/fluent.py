"""The fluent API: ``keel.start_run()``, ``keel.log_metric()`` and friends.

One process-wide state holds the client, the current experiment and the stack of active
runs. It is process-wide rather than per-thread on purpose: a training loop that logs from
worker threads logs to the run its main thread started.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from keel.entities import Experiment, FileInfo, Run, RunData, RunInfo, RunStatus
from keel.errors import InvalidArgument, KeelError
from keel.tracking.client import Client
from keel.tracking.code_version import find_code_version

if TYPE_CHECKING:
    from keel.entities.dataset import DatasetVersion
    from keel.entities.registry import ModelVersion
    from keel.models import LoadedModel
    from keel.tracking.models import LoggedModel

DEFAULT_EXPERIMENT = "Default"
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
        status = RunStatus.FAILED if failed else RunStatus.FINISHED
        with _state.lock:
            if self not in _state.stack:
                return  # ended already (keel.end_run in the block): keep the status it got
            innermost = _state.stack[-1] is self
            if not innermost:  # a child started without `with` is still open
                _state.stack.remove(self)
                _state.last_run_id = self.run_id
        if innermost:
            end_run(status)
        else:
            _client().set_terminated(self.run_id, status)


class _FluentState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracking_uri: str | None = None
        self.client: Client | None = None
        self.experiment: Experiment | None = None
        self.stack: list[ActiveRun] = []
        self.last_run_id: str | None = None
        self.hooks_installed = False
        self.uncaught = False


_state = _FluentState()


def _client() -> Client:
    client = _state.client
    if client is not None:  # the common case, without taking the lock
        return client
    with _state.lock:
        if _state.client is None:
            _state.client = Client(_state.tracking_uri)
        return _state.client


def set_tracking_uri(uri: str | Path | None) -> None:
    """Point the fluent API at a store: a folder, ``sqlite:///...``,
    ``postgresql+psycopg://...`` or ``http://host:port``. ``None`` means ``KEEL_TRACKING_URI``
    or the embedded store."""
    with _state.lock:
        if _state.stack:
            raise InvalidArgument("tracking URI: cannot change it while a run is active")
        if _state.client is not None:
            _state.client.close()
        _state.tracking_uri = str(uri) if uri is not None else None
        _state.client = None
        _state.experiment = None


def get_tracking_uri() -> str:
    return _client().tracking_uri


def set_experiment(name: str | None = None, *, experiment_id: str | None = None) -> Experiment:
    """Make ``name`` (created if new) or ``experiment_id`` the experiment new runs go to."""
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


def _get_or_create_experiment(client: Client, name: str) -> Experiment:
    found = client.get_experiment_by_name(name)
    if found is None:
        import contextlib

        from keel.errors import AlreadyExists

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
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one.

    >>> with keel.start_run(run_name="baseline") as run:   # doctest: +SKIP
    ...     keel.log_metric("loss", 0.5, step=1)
    """
    client = _client()
    _install_hooks()
    with _state.lock:
        if _state.stack and not nested:
            raise InvalidArgument(
                f"run {_state.stack[-1].run_id} is already active; end it with keel.end_run() "
                "or pass nested=True to start a child run"
            )
        if parent_run_id is None and nested and _state.stack:
            parent_run_id = _state.stack[-1].run_id
    if run_id is not None:
        client.update_run(run_id, status=RunStatus.RUNNING)
        if tags:
            client.set_tags(run_id, tags)
        run = client.get_run(run_id)
        client._writer.watch(run_id)
    else:
        experiment = (
            client.get_experiment(experiment_id) if experiment_id else _current_experiment(client)
        )
        all_tags = dict(tags or {})
        if log_code_version:
            version = find_code_version()
            if version is not None:
                all_tags = {**version.to_tags(), **all_tags}
            main = sys.modules.get("__main__")
            if getattr(main, "__file__", None):
                all_tags.setdefault("keel.source.name", Path(main.__file__).name)  # type: ignore[union-attr,arg-type]
        run = client.begin_run(
            experiment, run_name=run_name, tags=all_tags, parent_run_id=parent_run_id
        )
    active = ActiveRun(run)
    with _state.lock:
        _state.stack.append(active)
    return active


def active_run() -> ActiveRun | None:
    stack = _state.stack  # reading the last item of a list is atomic: no lock needed
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The run most recently ended by the fluent API, as stored."""
    run_id = _state.last_run_id
    return _client().get_run(run_id) if run_id else None


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run. The end is sent at once in the background; ``keel.flush()``
    (or the interpreter's exit) waits until everything is stored."""
    with _state.lock:
        if not _state.stack:
            return
        active = _state.stack.pop()
        _state.last_run_id = active.run_id
    _client().set_terminated(active.run_id, RunStatus(status))


def _run_id() -> str:
    active = active_run()
    if active is None:
        active = start_run()
    return active.run_id


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


def log_model(model: Any, name: str = "model", **save_options: Any) -> LoggedModel:
    """Log ``model`` to the active run as a Keel model package; returns its ``runs:/`` URI
    and manifest. Options as in :func:`keel.models.save_model` (``signature``,
    ``input_example``, ``requirements``, ``serialization``, ``metadata``, ``onnx``)."""
    return _client().log_model(_run_id(), model, name, **save_options)


def load_model(uri: str, *, trust: bool = False, flavor: str | None = None) -> LoadedModel:
    """Load a model by ``models:/name@alias``, ``models:/name/3`` or ``runs:/<id>/<path>``;
    see :meth:`Client.load_model`."""
    return _client().load_model(uri, trust=trust, flavor=flavor)


def register_model(source: str | LoggedModel, name: str, **options: Any) -> ModelVersion:
    """Register a logged model (``runs:/<run_id>/<path>``, or what ``keel.log_model``
    returned) as the next version of ``name``; see :meth:`RegistryClient.register_model`."""
    uri = source if isinstance(source, str) else source.uri
    return _client().registry.register_model(uri, name, **options)


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


def _end_runs_at_exit() -> None:
    status = RunStatus.FAILED if _state.uncaught else RunStatus.FINISHED
    while _state.stack:
        try:
            end_run(status)
        except KeelError as exc:
            log.error("keel: could not end run at exit: %s", exc)
            break

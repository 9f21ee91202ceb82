"""What a monitor reads, from the stores a tracking URI opens: the deployment's prediction
log, the reference (a dataset version, a past window of the log, or a file on this host),
and channels built under this process's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.config import Settings
from keel.entities.monitor import parse_time_ms
from keel.errors import InvalidArgument, NotFound
from keel.monitoring.channel_specs import build_channel
from keel.monitoring.channels import Channel
from keel.monitoring.runner import Sources, current_frame

if TYPE_CHECKING:
    from keel.store.backend import Backend


def backend_sources(
    backend: Backend,
    settings: Settings,
    *,
    load_dataset: Callable[[str], Any],
    file_root: Path | None = None,
) -> Sources:
    """``load_dataset`` reads ``datasets:/name@version`` as a table (the data client's
    ``load``); ``file:`` references must lie under ``file_root`` when one is given."""

    def read_window(deployment: str, start_ms: int, end_ms: int) -> Any:
        from keel.predictions.reader import read_predictions

        return read_predictions(backend.prediction_files, deployment, start_ms, end_ms).collect()

    def load_reference(reference: str, deployment: str) -> Any:
        if reference.startswith("window:"):
            start, end = window_reference(reference)
            frame = current_frame(read_window(deployment, start, end))
            if frame.height == 0:
                raise InvalidArgument(
                    f"monitor reference {reference!r}: the prediction log of {deployment!r} "
                    "holds no rows in that window"
                )
            return frame
        if reference.startswith("datasets:/"):
            return load_dataset(reference)
        if reference.startswith("models:/"):
            return load_dataset(training_data_of(backend, reference))
        return _file_reference(reference, file_root)

    def channel(raw: Mapping[str, Any]) -> Channel:
        return build_channel(raw, settings)

    def read_feedback(deployment: str, since_ms: int) -> Any:
        from keel.predictions.reader import read_feedback as read

        return read(backend.prediction_files, deployment, since_ms, None).collect()

    def check_reference(reference: str) -> str:
        if reference.startswith("file:"):
            return f"file:{_file_path(reference, file_root)}"
        if reference.startswith("models:/"):
            try:
                training = training_data_of(backend, reference)
            except NotFound as error:
                if str(error).startswith("monitor reference"):
                    raise
                raise NotFound(f"monitor reference {reference!r}: {error}") from None
            _dataset_exists(backend, training, reference)
        elif reference.startswith("datasets:/"):
            _dataset_exists(backend, reference, reference)
        return reference

    return Sources(
        read_window=read_window,
        load_reference=load_reference,
        channel=channel,
        read_feedback=read_feedback,
        check_reference=check_reference,
        file_root=file_root,
    )


def _dataset_exists(backend: Backend, dataset_uri: str, reference: str) -> None:
    name, _, version = dataset_uri[len("datasets:/") :].rpartition("@")
    try:
        backend.datasets.get_dataset_version(name, int(version))
    except NotFound:
        raise NotFound(
            f"monitor reference {reference!r}: no dataset version {dataset_uri} in this store "
            "(keel data list shows what there is)"
        ) from None


def server_references(settings: Settings) -> Path:
    """The one folder a ``keel server`` reads ``file:`` references from."""
    return settings.home / "references"


def file_reference_path(reference: str, root: Path | None) -> Path:
    """The file a ``file:`` reference names. Under ``root`` (a server's references folder)
    a relative path is taken from it and the file, its links followed, must lie inside:
    ``..``, absolute paths elsewhere and symbolic links out are refused, naming the rule,
    without saying whether such a file exists."""
    text = reference[len("file:") :]
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidArgument(
            f"monitor reference {reference!r}: a file path without control characters"
        )
    if root is None:
        # Absolute: a monitor made in one folder runs from any other.
        return Path(text).expanduser().absolute()
    base = root.resolve()
    found = (base / text).resolve()  # an absolute text replaces base: then checked
    if not found.is_relative_to(base):
        raise InvalidArgument(
            f"monitor reference {reference!r}: through a server, a file reference names a "
            "file in the server's references folder ($KEEL_HOME/references), such as "
            "file:train.parquet; upload the data as a dataset and use datasets:/<name>@<version>"
        )
    return found


def _file_path(reference: str, root: Path | None) -> Path:
    """The file a ``file:`` reference names, once it is known to be a ``.parquet`` table or
    a ``.json`` profile that is there (under a server's ``root``, without naming the
    server's paths)."""
    path = file_reference_path(reference, root)
    if path.suffix not in (".parquet", ".json"):
        raise InvalidArgument(
            f"monitor reference {reference!r}: a file reference is a .parquet table or a "
            ".json reference profile"
        )
    if not path.is_file():
        where = "in the server's references folder" if root is not None else f"({path})"
        raise NotFound(
            f"monitor reference {reference!r}: no such file {where} where the monitor runs; "
            "a file: path is read by the process that runs the monitor (keel server when the "
            "tracking URI is a server): datasets:/<name>@<version> (keel data add) works "
            "everywhere"
        )
    return path


def _file_reference(reference: str, root: Path | None) -> Any:
    path = _file_path(reference, root)
    if path.suffix == ".json":
        from keel.monitoring.reference import ReferenceProfile

        return ReferenceProfile.load(path)
    return path


def window_reference(reference: str) -> tuple[int, int]:
    start, _, end = reference[len("window:") :].partition("/")
    return parse_time_ms(start, "reference window start"), parse_time_ms(
        end, "reference window end"
    )


def training_data_of(backend: Backend, model_uri: str) -> str:
    """The ``datasets:/`` address of the data a model version was trained on: the input
    its run recorded with the context ``training`` (or its only input)."""
    from keel.registry.loading import resolve_model_uri
    from keel.uri import parse_model_uri, parse_run_artifact_uri

    version = resolve_model_uri(backend.registry, parse_model_uri(model_uri))
    run_id = parse_run_artifact_uri(version.source).run_id
    inputs = backend.datasets.run_inputs(run_id)
    training = [i for i in inputs if i.context == "training"] or (
        inputs if len(inputs) == 1 else []
    )
    if len(training) != 1:
        found = ", ".join(f"{i.name}@{i.version} ({i.context})" for i in inputs) or "none"
        raise NotFound(
            f"monitor reference {model_uri!r}: version {version.version} of {version.name!r} "
            f"has no single training dataset (its run {run_id} recorded: {found}); log it with "
            "keel.log_input(..., context='training') or give datasets:/<name>@<version>"
        )
    return f"datasets:/{training[0].name}@{training[0].version}"

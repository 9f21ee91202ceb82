"""Batch scoring on Ray: ``keel predict MODEL --input in/ --output out/ --on ray``.

The input (a Parquet or CSV file, or a folder of them) is read with ``ray.data``, scored
by ``map_batches`` over a pool of actors that each load the model once (in ``__init__``),
and written as Parquet files into a folder. Ray Data streams: blocks flow from the
readers through the actors to the writers, so data larger than the cluster's memory is
scored too.

The model is resolved and loaded once here first, so a bad address, a digest mismatch or
an untrusted pickle fails before the cluster does any work; the actors then load the very
version it resolved (``models:/name/<number>``), even if the alias moves meanwhile.

>>> predict_on_ray("models:/fraud@champion", "s3://bucket/in/", "out/",
...                ray_address="ray://head:10001", concurrency=8)   # doctest: +SKIP

On a remote cluster the workers need keel-mlops with the model's libraries installed and
a tracking URI they can reach (a ``keel server``, or a database and artifact store).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel import errors
from keel.config import Settings
from keel.entities.ids import new_id
from keel.errors import AlreadyExists, InvalidArgument, KeelError, NotFound
from keel.extras import require
from keel.serving.batch import (
    DEFAULT_CHUNK_ROWS,
    BatchResult,
    check_chunk_rows,
    load_scorer,
    tracking_uri_of,
)
from keel.serving.batch_files import csv_column_types, file_format

_KEEL_RAISED = re.compile(r"keel\.errors\.([A-Za-z]+): ([^\n]*)")
_TYPE_CLASH = re.compile(r"Field (\S+) has incompatible types: (.+?)(?:$|\n)")

if TYPE_CHECKING:
    import pyarrow as pa

    from keel.serving.chunk_scoring import ChunkScorer


class RayScorer:
    """One Ray actor's model: loaded once when the actor starts, then called with batch
    after batch (pyarrow tables)."""

    def __init__(
        self,
        model_uri: str,
        tracking_uri: str,
        settings: Settings,
        keep: Sequence[str],
        trust: bool,
        flavor: str | None,
    ) -> None:
        self.scorer = load_scorer(
            model_uri,
            tracking_uri=tracking_uri,
            settings=settings,
            keep=keep,
            trust=trust,
            flavor=flavor,
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        return self.scorer.score(batch)


def predict_on_ray(
    model_uri: str,
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    batch_rows: int = DEFAULT_CHUNK_ROWS,
    keep: Sequence[str] = (),
    concurrency: int = 2,
    actor_cpus: float | None = None,
    ray_address: str | None = None,
    overwrite: bool = False,
    trust: bool = False,
    flavor: str | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> BatchResult:
    """Score ``input_path`` (a Parquet or CSV file, or a folder of Parquet files) on Ray
    and write Parquet files into the folder ``output_dir``, which appears only once every
    row is written.

    ``ray_address``: the cluster to join (``ray://head:10001``, ``auto``); by default a
    Ray already started in this process, else a local one started for this job and shut
    down after it. ``concurrency``: actors scoring at once, each with the model loaded.
    ``actor_cpus``: CPUs each actor holds (default: 1, or less where the actors would
    otherwise hold every CPU of the cluster and leave none to read and write, which stalls
    the job). ``batch_rows``: rows handed to an actor at a time."""
    ray = require("ray", extra="ray", purpose="Batch scoring on Ray")
    settings = settings or Settings.from_env()
    batch_rows = check_chunk_rows(batch_rows)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidArgument(
            f"concurrency: must be a whole number of 1 or more, got {concurrency!r}"
        )
    if output_format not in (None, "parquet"):
        raise InvalidArgument(
            f"output format {output_format!r}: a Ray job writes a folder of Parquet files"
        )
    source = Path(input_path)
    if not source.exists():
        raise NotFound(f"input {str(input_path)!r}: no such file or folder")
    in_format = (
        "parquet"
        if source.is_dir() and input_format is None
        else file_format(source, input_format, "input")
    )
    target = Path(output_dir)
    if target.exists() and not overwrite:
        raise AlreadyExists(
            f"output {str(target)!r}: already exists; pick a new folder or overwrite it"
        )
    store = tracking_uri_of(tracking_uri, settings)
    # Loaded here once: a bad address or an untrusted model fails before Ray starts.
    # The driver only checks the model and reads its signature: its copy goes at once.
    with tempfile.TemporaryDirectory(prefix="keel-batch-") as workdir:
        scorer = load_scorer(
            model_uri,
            tracking_uri=store,
            settings=settings,
            keep=keep,
            trust=trust,
            flavor=flavor,
            workdir=Path(workdir),
        )
    pinned = _pinned(model_uri, scorer)
    started = _connect(ray, ray_address)
    staging = target.parent / f".{target.name}.partial-{new_id()[:12]}"
    try:
        try:
            dataset = _read(ray, source, in_format, scorer)
            names = dataset.schema().names
        except Exception as exc:
            raise _keel_error(exc, f"input {str(input_path)!r}") from None
        scorer.check_input_columns(names, f"input {str(input_path)!r}")
        scored = dataset.map_batches(
            RayScorer,
            fn_constructor_kwargs={
                "model_uri": pinned,
                "tracking_uri": store,
                "settings": settings,
                "keep": list(scorer.keep),
                "trust": trust,
                "flavor": flavor,
            },
            batch_format="pyarrow",
            batch_size=batch_rows,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=concurrency),
            num_cpus=_actor_cpus(ray, concurrency, actor_cpus),
        )
        staging.mkdir(parents=True)
        try:
            scored.write_parquet(str(staging))
        except Exception as exc:
            raise _keel_error(exc, f"input {str(input_path)!r}") from None
        rows = _count_rows(staging)
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if started:
            ray.shutdown()
    return BatchResult(target, rows, model_uri, scorer.identity.name, scorer.identity.version)


def _pinned(model_uri: str, scorer: ChunkScorer) -> str:
    """The version number the driver resolved, so that every actor loads that one."""
    identity = scorer.identity
    if identity.name is None or identity.version is None:
        return model_uri  # runs:/...: it names one package already
    return f"models:/{identity.name}/{identity.version}"


def _actor_cpus(ray: Any, concurrency: int, given: float | None) -> float:
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int | float) or not 0 < given <= 1024:
            raise InvalidArgument(f"actor_cpus: must be a number above 0, got {given!r}")
        return float(given)
    total = float(ray.cluster_resources().get("CPU", 1.0))
    if concurrency + 1 <= total:
        return 1.0
    # Leave one whole CPU to the read and write tasks (each asks for one): actors that
    # hold every CPU leave the readers waiting for ever.
    return max(0.0, (total - 1.0) / concurrency)


def _connect(ray: Any, address: str | None) -> bool:
    """Join ``address`` or start a local Ray; True when this call started it."""
    if ray.is_initialized():
        if address is not None:
            raise InvalidArgument(
                f"ray address {address!r}: this process is already connected to a Ray cluster"
            )
        return False
    ray.init(address=address, log_to_driver=False)
    return True


def _read(ray: Any, source: Path, fmt: str, scorer: ChunkScorer) -> Any:
    if fmt == "parquet":
        return ray.data.read_parquet(str(source))
    import pyarrow.csv as csv

    types = csv_column_types(scorer.columns)
    return ray.data.read_csv(str(source), convert_options=csv.ConvertOptions(column_types=types))


def _keel_error(exc: BaseException, where: str) -> BaseException:
    """The Keel error an actor raised (a row that breaks the signature), or files whose
    column types disagree, out of the Ray errors wrapped around it; else ``exc``."""
    import pyarrow as pa

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeelError):
            return type(current)(current.message)
        if isinstance(current, pa.ArrowTypeError | pa.ArrowInvalid):
            text = str(current)
            clash = _TYPE_CLASH.search(text)
            if clash is not None:
                return InvalidArgument(
                    f"{where}: column {clash.group(1)!r}: its files disagree on its type "
                    f"({clash.group(2)}); every file must hold the same columns and types"
                )
            return InvalidArgument(f"{where}: {text}")
        cause = getattr(current, "cause", None)  # ray.exceptions.RayTaskError
        current = (
            cause
            if isinstance(cause, BaseException)
            else (current.__cause__ or current.__context__)
        )
    # An actor's exception reaches the driver as text: Ray Data wraps it in a
    # UserCodeException whose pickled form drops the original, keeping its traceback.
    raised = _KEEL_RAISED.findall(str(exc))
    if raised:
        name, message = raised[-1]
        kind = getattr(errors, name, None)
        if isinstance(kind, type) and issubclass(kind, KeelError):
            return kind(message.strip())
    return exc


def _count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in folder.glob("*.parquet"))


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename the finished folder onto ``target`` (an old one, with --overwrite, is moved
    aside first and removed after)."""
    if not target.exists():
        os.replace(staging, target)
        return
    if not target.is_dir():
        raise InvalidArgument(f"output {str(target)!r}: is a file; a Ray job writes a folder")
    old = target.parent / f".{target.name}.old-{new_id()[:12]}"
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)

"""Batch scoring on this machine: ``keel predict MODEL --input in.parquet --output out.parquet``.

The model is loaded once (its package digest-checked, the trust rules of
:mod:`keel.registry.loading` applied), the input streamed a chunk of rows at a time
(Parquet or CSV), each chunk checked against the model's signature, scored, and appended
to a temporary file renamed onto the output at the end. Memory holds one chunk, so a file
larger than memory is scored too.

>>> result = predict_file("models:/fraud@champion", "in.parquet", "out.parquet",
...                       keep=["account_id"])                    # doctest: +SKIP
>>> result.rows, result.model_version                              # doctest: +SKIP
(1000000, 3)

The output has ``prediction_id``, ``model_name``, ``model_version``, the kept columns,
``prediction`` and, for a classifier, one ``score.<label>`` per class.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keel.config import Settings
from keel.errors import InvalidArgument, KeelError
from keel.serving.batch_files import OutputFile, file_format, open_input
from keel.serving.chunk_scoring import ChunkScorer, ModelIdentity

if TYPE_CHECKING:
    from keel.entities.progress import RowProgress

DEFAULT_CHUNK_ROWS = 50_000
MAX_CHUNK_ROWS = 10_000_000


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch job wrote: ``rows`` rows to ``output`` (a file, or a folder of
    Parquet files for a Ray job), scored by ``model_name`` version ``model_version``."""

    output: Path
    rows: int
    model_uri: str
    model_name: str | None
    model_version: int | None


def tracking_uri_of(tracking_uri: str | None, settings: Settings) -> str:
    """The store to load from: ``tracking_uri``, else what ``keel.set_tracking_uri`` set,
    else ``KEEL_TRACKING_URI``, else the embedded store (as ``keel.Client()`` picks)."""
    from keel.tracking.default_uri import default_tracking_uri

    return tracking_uri or default_tracking_uri() or settings.tracking_uri or str(settings.home)


def load_scorer(
    model_uri: str,
    *,
    tracking_uri: str,
    settings: Settings,
    keep: Sequence[str] = (),
    trust: bool = False,
    flavor: str | None = None,
    workdir: Path | None = None,
) -> ChunkScorer:
    """The model ``model_uri`` names, loaded through a registry reader and an artifact
    reader only (no tracking client, no writer thread), ready to score chunks; its files
    are downloaded under ``workdir`` when given (the caller removes it after)."""
    from keel.registry.loading import ModelSource, load_located
    from keel.store import open_backend

    with open_backend(tracking_uri, settings) as backend:
        source = ModelSource(backend.registry, backend.artifacts)
        where = source.locate(model_uri)
        model = load_located(
            model_uri,
            where,
            source,
            settings=settings,
            trust=trust,
            flavor=flavor,
            workdir=workdir,
        )
    version = where.version
    identity = ModelIdentity(
        name=None if version is None else version.name,
        version=None if version is None else version.version,
    )
    return ChunkScorer(model, identity, keep=keep)


def check_chunk_rows(chunk_rows: int) -> int:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int):
        raise InvalidArgument(f"chunk_rows: must be a whole number, got {chunk_rows!r}")
    if not 1 <= chunk_rows <= MAX_CHUNK_ROWS:
        raise InvalidArgument(
            f"chunk_rows: must be between 1 and {MAX_CHUNK_ROWS:,}, got {chunk_rows:,}"
        )
    return chunk_rows


def predict_file(
    model_uri: str,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    output_format: str | None = None,
    input_format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    keep: Sequence[str] = (),
    overwrite: bool = False,
    trust: bool = False,
    flavor: str | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    progress: RowProgress | None = None,
) -> BatchResult:
    """Score every row of ``input_path`` (Parquet or CSV, told by its suffix or
    ``input_format``) with ``model_uri`` and write ``output_path`` (its suffix or
    ``output_format``), ``chunk_rows`` rows at a time.

    ``keep``: input columns copied to the output (an id to join the predictions back
    on). ``overwrite``: replace an existing output (else AlreadyExists). A row that breaks
    the signature stops the job with InvalidArgument naming the rows, the column and the
    rule; nothing is written to ``output_path`` then."""
    settings = settings or Settings.from_env()
    chunk_rows = check_chunk_rows(chunk_rows)
    in_format = file_format(input_path, input_format, "input")
    out_format = file_format(output_path, output_format, "output")
    with tempfile.TemporaryDirectory(prefix="keel-batch-") as workdir:
        scorer = load_scorer(
            model_uri,
            tracking_uri=tracking_uri_of(tracking_uri, settings),
            settings=settings,
            keep=keep,
            trust=trust,
            flavor=flavor,
            workdir=Path(workdir),
        )
        return _score_file(
            scorer,
            input_path,
            output_path,
            in_format,
            out_format,
            chunk_rows=chunk_rows,
            overwrite=overwrite,
            progress=progress,
            model_uri=model_uri,
        )


def _score_file(
    scorer: ChunkScorer,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    in_format: str,
    out_format: str,
    *,
    chunk_rows: int,
    overwrite: bool,
    progress: RowProgress | None,
    model_uri: str,
) -> BatchResult:
    source = open_input(input_path, in_format, chunk_rows=chunk_rows, column_specs=scorer.columns)
    scorer.check_input_columns(source.columns, f"input {str(input_path)!r}")
    output = OutputFile(output_path, out_format, overwrite=overwrite)
    if progress is not None:
        progress.start(source.total_rows, "scoring")
    try:
        done = 0
        for chunk in source.chunks:
            try:
                scored = scorer.score(chunk)
            except KeelError as exc:
                raise type(exc)(
                    f"input {str(input_path)!r}, rows {done + 1:,} to "
                    f"{done + chunk.num_rows:,}: {exc.message}"
                ) from None
            output.write(scored)
            done += chunk.num_rows
            if progress is not None:
                progress.advance(chunk.num_rows)
        output.commit(scorer.empty_output(source.schema))
    except BaseException:
        output.discard()
        raise
    return BatchResult(
        output.path, output.rows, model_uri, scorer.identity.name, scorer.identity.version
    )

"""Versioned datasets: files, folders and tables stored by content, numbered versions,
what changed, and which runs used what.

>>> v = keel.data.add("data/train.parquet", name="churn").version   # doctest: +SKIP
>>> keel.data.load("datasets:/churn@1")                           # doctest: +SKIP
>>> keel.log_dataset(frame, name="churn", context="training")      # doctest: +SKIP

Each function goes through the client of the tracking URI in use (``keel.Client().data``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.data.cache_gc import Collected
    from keel.data.client import DataClient
    from keel.data.mlflow_dataset import PandasDataset
    from keel.data.remote import Transfer
    from keel.data.results import AddResult, Status, VersionDiff
    from keel.entities.dataset import DatasetVersion

__all__ = ["add", "diff", "from_pandas", "gc", "get", "load", "pull", "push", "status"]


def _data() -> DataClient:
    from keel.fluent import _client

    return _client().data


def add(path: str | os.PathLike[str], *, name: str, description: str = "") -> AddResult:
    """Version a file, folder or table file under ``name`` (see :meth:`DataClient.add`)."""
    return _data().add(path, name=name, description=description)


def from_pandas(
    df: Any, source: str | None = None, targets: str | None = None, name: str | None = None
) -> PandasDataset:
    """MLflow's ``mlflow.data.from_pandas``: a DataFrame to pass to ``keel.log_input``
    (see :mod:`keel.data.mlflow_dataset`)."""
    from keel.data.mlflow_dataset import from_pandas

    return from_pandas(df, source=source, targets=targets, name=name)


def get(ref: str, out: str | os.PathLike[str], *, force: bool = False) -> DatasetVersion:
    """Materialise ``datasets:/<name>@<version>`` into the folder ``out``."""
    return _data().get(ref, out, force=force)


def status(path: str | os.PathLike[str]) -> Status:
    return _data().status(path)


def diff(a: str, b: str) -> VersionDiff:
    return _data().diff(a, b)


def load(ref: str) -> Any:
    """A table version as a polars DataFrame; a file or folder version as the local path
    of a read-only copy."""
    return _data().load(ref)


def push(*refs: str, verify: bool = False) -> Transfer:
    """Upload the objects of these versions that the remote lacks (see
    :meth:`DataClient.push`)."""
    return _data().push(list(refs), verify=verify)


def pull(*refs: str) -> Transfer:
    """Download the objects of these versions that the local cache lacks."""
    return _data().pull(list(refs))


def gc(*, dry_run: bool = False) -> Collected:
    """Free the local cache of what this store's remote holds (see :mod:`keel.data.cache_gc`)."""
    return _data().gc(dry_run=dry_run)

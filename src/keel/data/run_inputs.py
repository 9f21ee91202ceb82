"""``log_dataset``: version what a run trains or evaluates on, and link it to the run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.dataset import DatasetVersion, check_context, check_dataset_name

if TYPE_CHECKING:
    from keel.data.client import DataClient


def log_dataset(
    client: DataClient, run_id: str, data: Any, *, name: str, context: str, description: str
) -> DatasetVersion:
    """Version ``data`` with ``client`` and record it as an input of the run (which the
    tracking client stored when it started)."""
    check_dataset_name(name)
    check_context(context)
    if isinstance(data, str | os.PathLike):
        result = client.add(data, name=name, description=description)
    else:
        from keel.data.tables import to_polars

        frame = to_polars(data)
        kind = f"{type(data).__module__.partition('.')[0]} DataFrame"
        with tempfile.TemporaryDirectory(prefix="keel-dataset-") as tmp:
            path = Path(tmp) / f"{name}.parquet"
            frame.write_parquet(path)
            try:
                result = client.add(
                    path, name=name, description=description, source=f"{kind} (run {run_id})"
                )
            finally:
                client.state.forget(tmp)  # never a working folder
    version = result.version
    client.store.log_run_input(run_id, version.name, version.version, context)
    return version

"""``PredictionFiles``: where the prediction log's Parquet files are put and read back.

Two implementations, one per kind of tracking URI: the artifact root of a SQL store
(``keel.artifacts.prediction_files``, a local folder or any fsspec URL) and a
``keel server`` (``keel.store.rest.prediction_files``), which checks each file and places
it itself. The writer, the reader and the server's routes only see this protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from keel.entities.prediction_log import LogKind, LogQuery

if TYPE_CHECKING:
    import polars as pl


class PredictionFiles(Protocol):
    def put(self, kind: LogKind, deployment: str, hour_ms: int, name: str, data: bytes) -> None:
        """Store one Parquet file (``data``) of ``kind`` for ``deployment`` in the hour
        starting ``hour_ms``, named ``name`` (``<writer-id>-<seq>``). Atomic: readers see
        the whole file or none. Putting the same name again replaces it (a resend after a
        lost answer duplicates nothing). ``StoreUnavailable`` or ``OSError`` when the
        destination cannot be reached."""
        ...

    def scan(self, query: LogQuery) -> pl.LazyFrame:
        """The rows ``query`` selects, ordered by time then prediction id."""
        ...

"""The prediction log's wire format: Parquet files up, Arrow IPC streams down."""

from __future__ import annotations

ARROW_STREAM = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
NEXT_OFFSET = "X-Keel-Next-Offset"
"""Header of a page of rows that is not the last: the ``offset`` of the next one."""

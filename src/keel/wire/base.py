"""What every request body shares: a key the schema does not declare is refused (422),
not ignored, so a misspelt field never passes silently."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from keel.entities.rules import INT64_MAX


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The largest integer a database column (BIGINT) holds: a larger one in a request is a
# 422 naming its field, not an overflow deep in the store. Strict: a JSON true is no
# number (pydantic would read it as 1: {"silent_for_ms": true} reaped every running run).
Millis = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
"""A time in epoch milliseconds, or a duration in milliseconds."""

Count = Annotated[int, Field(strict=True, ge=1, le=INT64_MAX)]
"""A positive count: ``max_results``."""

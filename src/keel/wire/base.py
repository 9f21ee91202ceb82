"""What every request body shares: a key the schema does not declare is refused (422),
not ignored, so a misspelt field never passes silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

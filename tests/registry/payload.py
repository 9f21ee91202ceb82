"""A harmless stand-in for a malicious model: unpickling it writes a canary file."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Payload:
    """A python-flavor model (cloudpickle) whose unpickling "runs code": it writes
    ``canary``. A test proves the file never appears unless the load was trusted."""

    def __init__(self, canary: str) -> None:
        self.canary = canary

    def predict(self, data: Any) -> Any:
        return data

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["canary"]).write_text("the payload ran")
        self.__dict__.update(state)


class Doubler:
    """A benign python-flavor model."""

    def predict(self, data: Any) -> Any:
        return data * 2

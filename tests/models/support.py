"""Plain helpers for the model tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keel.artifacts.hashing import hash_bytes
from keel.models import MANIFEST_NAME


def input_kinds(frame: Any) -> dict[str, Any]:
    """The same rows as each kind of input ``predict`` accepts."""
    import polars as pl

    return {
        "pandas": frame,
        "polars": pl.DataFrame({name: frame[name].to_numpy() for name in frame.columns}),
        "numpy": frame.to_numpy(),
        "records": frame.to_dict("records"),
    }


def read_manifest_dict(package: Path) -> dict[str, Any]:
    return json.loads((package / MANIFEST_NAME).read_text())


def write_manifest_dict(package: Path, manifest: dict[str, Any]) -> None:
    (package / MANIFEST_NAME).write_text(json.dumps(manifest))


def replace_file(package: Path, name: str, content: bytes) -> None:
    """Swap a file's content and re-sign the manifest, as an attacker who crafts a whole
    package would: the package is then consistent, only its content is hostile."""
    (package / name).write_bytes(content)
    manifest = read_manifest_dict(package)
    manifest["files"][name] = {"size": len(content), "blake3": hash_bytes(content)}
    write_manifest_dict(package, manifest)


class WritesOnUnpickle:
    """A pickle payload that creates ``path`` when unpickled: proof a load ran it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.path, "unpickled"))

    def predict(self, data: Any) -> Any:
        return data

"""Plain helpers for the dataset tests."""

from __future__ import annotations

import os
from pathlib import Path


def write_files(root: Path, files: dict[str, bytes | str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def damage(path: Path, at: int = 0) -> None:
    """Change one byte of a (read-only) cache file in place: it then never matches its
    digest, whatever the byte was."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as file:
        file.seek(at, os.SEEK_SET if at >= 0 else os.SEEK_END)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))

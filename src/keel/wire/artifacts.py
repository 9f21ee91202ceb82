"""Run artifacts on the wire: ``/api/v1/runs/{run_id}/artifacts`` (listing and stat; the
bytes themselves travel as ``application/octet-stream``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from keel.entities.run import FileInfo


class FileInfoPublic(BaseModel):
    path: str
    is_dir: bool
    file_size: int | None
    digest: str | None


class FileList(BaseModel):
    files: list[FileInfoPublic]


def file_info_to_dict(f: FileInfo) -> dict[str, Any]:
    return {"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size, "digest": f.digest}


def file_info_from_dict(d: dict[str, Any]) -> FileInfo:
    return FileInfo(d["path"], bool(d["is_dir"]), d.get("file_size"), d.get("digest"))

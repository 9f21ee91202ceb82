"""Datasets on the wire: ``/api/v1/datasets`` (versions, manifests, profiles, lineage) and
``/api/v1/dataset-objects``; the same dicts are what ``keel data ... --json`` prints."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from keel.entities.dataset import Dataset, DatasetInput, DatasetKind, DatasetVersion


class DatasetVersionCreate(BaseModel):
    digest: str
    manifest: str = Field(description="The manifest's canonical bytes, base64")
    kind: str
    file_count: int
    total_bytes: int
    source: str
    description: str = ""
    row_count: int | None = None
    column_count: int | None = None
    profile: dict[str, Any] | None = None
    project: str | None = Field(
        default=None,
        description="The project a new dataset is made in (needs dataset:write there); "
        "an existing dataset in another project is 409.",
    )


class RunInputCreate(BaseModel):
    name: str
    version: StrictInt  # a JSON true is no version (pydantic would read it as 1)
    context: str = "training"


class DigestList(BaseModel):
    digests: list[str] = Field(max_length=100_000)
    # strict: a 0 or "yes" is a wrong type, not a quiet False or True
    verify: bool = Field(
        False,
        strict=True,
        description="Also list held objects whose bytes no longer match (read whole)",
    )


class DatasetPublic(BaseModel):
    name: str
    description: str
    created: int
    updated: int
    latest_version: int


class DatasetList(BaseModel):
    datasets: list[DatasetPublic]


class DatasetVersionPublic(BaseModel):
    uri: str = Field(description="datasets:/<name>@<version>")
    name: str
    version: int
    digest: str = Field(description="blake3:<hex> of the manifest's canonical bytes")
    kind: str
    file_count: int
    total_bytes: int
    row_count: int | None
    column_count: int | None
    source: str
    description: str
    created: int
    created_by: str
    profile: dict[str, Any] | None = Field(
        default=None, description="A table's profile; sent where one version is asked for."
    )


class DatasetVersionList(BaseModel):
    versions: list[DatasetVersionPublic]


class DatasetVersionCreated(BaseModel):
    version: DatasetVersionPublic
    created: bool = Field(description="False: the latest version already had this digest.")


class RunInputPublic(BaseModel):
    run_id: str
    dataset: str = Field(description="datasets:/<name>@<version>")
    name: str
    version: int
    context: str
    created: int


class RunInputList(BaseModel):
    inputs: list[RunInputPublic]


class ManifestPublic(BaseModel):
    digest: str
    manifest: str = Field(description="The manifest's canonical bytes, base64")


class MissingObjects(BaseModel):
    missing: list[str]
    verified: bool


class ObjectStored(BaseModel):
    digest: str


def dataset_to_dict(d: Dataset) -> dict[str, Any]:
    return {
        "name": d.name,
        "description": d.description,
        "created": d.created,
        "updated": d.updated,
        "latest_version": d.last_version,
    }


def dataset_version_to_dict(v: DatasetVersion, *, profile: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uri": v.uri,
        "name": v.name,
        "version": v.version,
        "digest": v.digest,
        "kind": v.kind.value,
        "file_count": v.file_count,
        "total_bytes": v.total_bytes,
        "row_count": v.row_count,
        "column_count": v.column_count,
        "source": v.source,
        "description": v.description,
        "created": v.created,
        "created_by": v.created_by,
    }
    if profile:
        body["profile"] = v.profile
    return body


def dataset_input_to_dict(i: DatasetInput) -> dict[str, Any]:
    return {
        "run_id": i.run_id,
        "dataset": f"datasets:/{i.name}@{i.version}",
        "name": i.name,
        "version": i.version,
        "context": i.context,
        "created": i.created,
    }


def dataset_from_dict(d: dict[str, Any]) -> Dataset:
    return Dataset(d["name"], d["description"], d["created"], d["updated"], d["latest_version"])


def dataset_version_from_dict(d: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        name=d["name"],
        version=d["version"],
        digest=d["digest"],
        kind=DatasetKind(d["kind"]),
        file_count=d["file_count"],
        total_bytes=d["total_bytes"],
        source=d["source"],
        description=d["description"],
        created=d["created"],
        created_by=d["created_by"],
        row_count=d.get("row_count"),
        column_count=d.get("column_count"),
        profile=d.get("profile"),
    )


def dataset_input_from_dict(d: dict[str, Any]) -> DatasetInput:
    return DatasetInput(d["run_id"], d["name"], d["version"], d["context"], d["created"])


def manifest_to_dict(digest: str, manifest: bytes) -> dict[str, Any]:
    return {"digest": digest, "manifest": base64.b64encode(manifest).decode("ascii")}


def manifest_from_dict(d: dict[str, Any]) -> bytes:
    return base64.b64decode(d["manifest"])

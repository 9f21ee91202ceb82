"""``/api/v1/datasets``: dataset versions, their manifests and profiles, and lineage, read
only (versions are added by ``keel data add`` against the database for now)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.entities.dataset_codec import (
    dataset_input_to_dict,
    dataset_to_dict,
    dataset_version_to_dict,
)
from keel.server.responses import JSON
from keel.store.datasets import DatasetStore

router = APIRouter(prefix="/api/v1", tags=["datasets"])


def _datasets(request: Request) -> DatasetStore:
    return request.app.state.datasets


@router.get("/datasets")
def list_datasets(request: Request) -> JSON:
    return JSON({"datasets": [dataset_to_dict(d) for d in _datasets(request).list_datasets()]})


@router.get("/datasets/{name}/versions")
def list_versions(name: str, request: Request) -> JSON:
    """A dataset's versions, newest first (without profiles)."""
    versions = _datasets(request).list_dataset_versions(name)
    return JSON({"versions": [dataset_version_to_dict(v) for v in versions]})


@router.get("/datasets/{name}/versions/{version}")
def get_version(name: str, version: str, request: Request) -> JSON:
    """One version with its profile; ``latest`` names the newest."""
    found = _datasets(request).get_dataset_version(name, _number(version))
    return JSON(dataset_version_to_dict(found, profile=True))


@router.get("/datasets/{name}/versions/{version}/manifest")
def get_manifest(name: str, version: str, request: Request) -> Response:
    """The manifest's canonical bytes (their BLAKE3 is the version's digest)."""
    store = _datasets(request)
    found = store.get_dataset_version(name, _number(version))
    return Response(store.get_manifest(found.digest), media_type="application/json")


@router.get("/datasets/{name}/versions/{version}/runs")
def version_users(name: str, version: str, request: Request) -> JSON:
    """The runs that used a version (lineage from data to runs, and their models)."""
    store = _datasets(request)
    found = store.get_dataset_version(name, _number(version))
    users = store.version_users(found.name, found.version)
    return JSON({"inputs": [dataset_input_to_dict(i) for i in users]})


@router.get("/runs/{run_id}/inputs")
def run_inputs(run_id: str, request: Request) -> JSON:
    """The dataset versions a run used."""
    inputs = _datasets(request).run_inputs(run_id)
    return JSON({"inputs": [dataset_input_to_dict(i) for i in inputs]})


def _number(version: str) -> int | None:
    from keel.entities.dataset import check_dataset_version
    from keel.errors import InvalidArgument

    if version == "latest":
        return None
    if not version.isdigit():
        raise InvalidArgument(f"version {version!r}: must be a number or 'latest'")
    return check_dataset_version(int(version))

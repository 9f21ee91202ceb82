"""``/api/v1/datasets``: dataset versions, their manifests and profiles, lineage, and the
content-addressed objects behind them (``/api/v1/dataset-objects``).

A client adds a version by uploading the objects the server lacks (each refused whole
unless its bytes hash to its name), then creating the version with its manifest."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from keel.access.permissions import permission
from keel.data.remote import StoreObjects
from keel.entities.dataset import DatasetKind, check_dataset_name, check_digest
from keel.entities.dataset_manifest import DataManifest
from keel.entities.quota import ProjectUsage
from keel.entities.rules import check_choice
from keel.errors import InvalidArgument, NotFound
from keel.server.auth import Caller, requires
from keel.server.deps import ActorDep
from keel.server.responses import JSON, download_headers
from keel.server.streams import consume_body
from keel.store.datasets import DatasetStore
from keel.store.sql.quotas import SqlQuotas
from keel.wire.datasets import (
    DatasetList,
    DatasetPublic,
    DatasetVersionCreate,
    DatasetVersionCreated,
    DatasetVersionList,
    DatasetVersionPublic,
    DigestList,
    ManifestPublic,
    MissingObjects,
    ObjectStored,
    RunInputCreate,
    RunInputList,
    RunInputPublic,
    dataset_input_to_dict,
    dataset_to_dict,
    dataset_version_to_dict,
    manifest_to_dict,
)

router = APIRouter(tags=["datasets"])


def _datasets(request: Request) -> DatasetStore:
    return request.app.state.datasets


def _objects(request: Request) -> StoreObjects:
    return request.app.state.dataset_objects


@router.get("/datasets", response_model=DatasetList)
def list_datasets(
    request: Request, caller: Annotated[Caller, requires("dataset:read", from_body=True)]
) -> JSON:
    """The datasets of the projects the caller may read."""
    found = caller.visible("dataset:read", "dataset", _datasets(request).list_datasets(), _name)
    return JSON({"datasets": [dataset_to_dict(d) for d in found]})


def _name(found: Any) -> str:
    return str(found.name)


@router.get(
    "/datasets/{name}", dependencies=[requires("dataset:read")], response_model=DatasetPublic
)
def get_dataset(name: str, request: Request) -> JSON:
    return JSON(dataset_to_dict(_datasets(request).get_dataset(name)))


@router.post(
    "/datasets/{name}/versions",
    response_model=DatasetVersionCreated,
    status_code=201,
    responses={200: {"model": DatasetVersionCreated, "description": "The latest, unchanged"}},
)
def create_version(
    name: str,
    body: DatasetVersionCreate,
    request: Request,
    actor: ActorDep,
    caller: Annotated[Caller, requires("dataset:write", from_body=True)],
) -> JSON:
    """A new version (``created``: true), or the latest when it has this digest. Needs
    ``dataset:write`` on the dataset's project; for a new dataset, on ``project`` (else
    default). An existing dataset named with another project is 409."""
    _check_write(caller, name, body.project)
    try:
        manifest = base64.b64decode(body.manifest, validate=True)
    except ValueError:
        raise InvalidArgument("manifest: must be base64") from None
    _refuse_unfetchable(name, body.digest, manifest, request)
    version, created = _datasets(request).create_dataset_version(
        name,
        digest=body.digest,
        manifest=manifest,
        kind=check_choice(DatasetKind, body.kind, "kind"),
        file_count=body.file_count,
        total_bytes=body.total_bytes,
        source=body.source,
        actor=actor,
        description=body.description,
        row_count=body.row_count,
        column_count=body.column_count,
        profile=body.profile,
        project=body.project,
    )
    payload = {"version": dataset_version_to_dict(version, profile=True), "created": created}
    return JSON(payload, status_code=201 if created else 200)


def _check_write(caller: Caller, name: str, project: str | None) -> None:
    """``dataset:write`` on the dataset's project, or for a new one on ``project``."""
    if caller.open:
        return
    assert caller.auth is not None
    if project is not None and caller.auth.store.project_of("dataset", name) is None:
        caller.check_in_project("dataset:write", project)  # a dataset it would make
    else:  # the store refuses another project (409); the dataset's own is judged here
        caller.check_resources("dataset:write", "dataset", [name])


def _refuse_unfetchable(name: str, digest: str, manifest: bytes, request: Request) -> None:
    """A new version may name only objects this server holds: one it could never serve is
    refused before anything is recorded. (Re-adding the latest version is not checked
    again.)"""
    try:
        if _datasets(request).get_dataset_version(name).digest == digest:
            return
    except NotFound:  # a new dataset
        pass
    files = DataManifest.from_bytes(manifest, source="manifest").files
    absent = sorted(_objects(request).absent({f.digest for f in files.values()}))
    if absent:
        raise InvalidArgument(
            f"manifest: {len(absent)} of its objects are not on this server (the first is "
            f"{absent[0]}); upload them first (PUT /api/v1/dataset-objects/{{digest}})"
        )


@router.get(
    "/dataset-manifests/{digest}",
    dependencies=[requires("dataset:read", anywhere=True)],
    response_model=ManifestPublic,
)
def get_manifest_by_digest(digest: str, request: Request) -> JSON:
    raw = _datasets(request).get_manifest(digest)
    return JSON(manifest_to_dict(digest, raw))


@router.post(
    "/dataset-objects/missing",
    dependencies=[requires("dataset:write", anywhere=True)],
    response_model=MissingObjects,
)
def missing_objects(body: DigestList, request: Request) -> JSON:
    """Which of these objects the server does not have (with ``verify``, or has damaged)."""
    for i, digest in enumerate(body.digests):
        check_digest(digest, f"digests[{i}]")
    missing = _objects(request).missing(body.digests, verify=body.verify)
    return JSON({"missing": sorted(missing), "verified": body.verify})


@router.put(
    "/dataset-objects/{digest}",
    response_model=ObjectStored,
    status_code=201,
)
async def upload_object(
    digest: str,
    request: Request,
    caller: Annotated[Caller, requires("dataset:write", anywhere=True)],
    dataset: str | None = None,
    project: str | None = None,
) -> JSON:
    """Stream an object in; refused whole (nothing kept) unless it hashes to ``digest``.
    A new object's bytes count against the storage quota of ``dataset``'s project (for
    a dataset not made yet, ``project``'s; naming neither, the default project's): past
    it, 413 and nothing kept. Naming a project needs ``dataset:write`` there."""
    check_digest(digest)
    objects = _objects(request)
    project_id = await run_in_threadpool(_charged_project, caller, request, dataset, project)
    if await run_in_threadpool(objects.has, digest):  # held already: nothing new to charge
        await consume_body(request, lambda chunks: objects.upload(digest, chunks))
        return JSON({"digest": digest}, status_code=201)
    quotas: SqlQuotas = request.app.state.quotas
    usage = await run_in_threadpool(quotas.usage, project_id)
    counted = _Counted(usage)
    await consume_body(request, lambda chunks: objects.upload(digest, counted.feed(chunks)))
    # One conditional UPDATE: two uploads at once cannot both pass the quota. (Refused
    # here, the object stays unreferenced until `keel data gc` on the server's store.)
    await run_in_threadpool(quotas.charge, project_id, counted.total)
    return JSON({"digest": digest}, status_code=201)


def _charged_project(
    caller: Caller, request: Request, dataset: str | None, project: str | None
) -> int:
    """The project an object upload counts against, checked for ``dataset:write`` when
    the query names one (blocking: a query or two)."""
    if dataset is not None:
        check_dataset_name(dataset)
    project_id = None
    if project is not None:
        project_id = request.app.state.access.get_project(project).id
    charged = request.app.state.quotas.project_for_dataset(dataset, project_id)
    if dataset is not None or project is not None:
        caller.check(permission("dataset:write"), charged)
    return int(charged)


class _Counted:
    """The bytes of an upload as they stream, cut off with the 413 past the room its
    project has left."""

    def __init__(self, usage: ProjectUsage) -> None:
        self.usage = usage
        self.total = 0

    def feed(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        room = self.usage.room
        for chunk in chunks:
            self.total += len(chunk)
            if room is not None and self.total > room:
                raise self.usage.refusal(self.total)
            yield chunk


@router.get(
    "/dataset-objects/{digest}",
    dependencies=[requires("dataset:read", anywhere=True)],
    response_class=StreamingResponse,
)
def download_object(digest: str, request: Request) -> StreamingResponse:
    """An object's bytes, checked against its digest as they are sent."""
    check_digest(digest)
    objects = _objects(request)
    if not objects.has(digest):
        raise NotFound(f"object {digest[:12]}: not on this server; push it first")
    return StreamingResponse(
        objects.download(digest),
        media_type="application/octet-stream",
        headers=download_headers(digest),
    )


@router.get(
    "/datasets/{name}/versions",
    dependencies=[requires("dataset:read")],
    response_model=DatasetVersionList,
)
def list_versions(name: str, request: Request) -> JSON:
    """A dataset's versions, newest first (without profiles)."""
    versions = _datasets(request).list_dataset_versions(name)
    return JSON({"versions": [dataset_version_to_dict(v) for v in versions]})


@router.get(
    "/datasets/{name}/versions/{version}",
    dependencies=[requires("dataset:read")],
    response_model=DatasetVersionPublic,
)
def get_version(name: str, version: str, request: Request) -> JSON:
    """One version with its profile; ``latest`` names the newest."""
    found = _datasets(request).get_dataset_version(name, _number(version))
    return JSON(dataset_version_to_dict(found, profile=True))


@router.get("/datasets/{name}/versions/{version}/manifest", dependencies=[requires("dataset:read")])
def get_manifest(name: str, version: str, request: Request) -> Response:
    """The manifest's canonical bytes (their BLAKE3 is the version's digest)."""
    store = _datasets(request)
    found = store.get_dataset_version(name, _number(version))
    return Response(store.get_manifest(found.digest), media_type="application/json")


@router.get(
    "/datasets/{name}/versions/{version}/runs",
    dependencies=[requires("dataset:read")],
    response_model=RunInputList,
)
def version_users(name: str, version: str, request: Request) -> JSON:
    """The runs that used a version (lineage from data to runs, and their models)."""
    store = _datasets(request)
    found = store.get_dataset_version(name, _number(version))
    users = store.version_users(found.name, found.version)
    return JSON({"inputs": [dataset_input_to_dict(i) for i in users]})


@router.post(
    "/runs/{run_id}/inputs",
    dependencies=[requires("run:write")],
    response_model=RunInputPublic,
    status_code=201,
)
def log_run_input(run_id: str, body: RunInputCreate, request: Request) -> JSON:
    found = _datasets(request).log_run_input(run_id, body.name, body.version, body.context)
    return JSON(dataset_input_to_dict(found), status_code=201)


@router.get(
    "/runs/{run_id}/inputs", dependencies=[requires("run:read")], response_model=RunInputList
)
def run_inputs(run_id: str, request: Request) -> JSON:
    """The dataset versions a run used."""
    inputs = _datasets(request).run_inputs(run_id)
    return JSON({"inputs": [dataset_input_to_dict(i) for i in inputs]})


def _number(version: str) -> int | None:
    from keel.entities.dataset import check_dataset_version
    from keel.errors import InvalidArgument

    if version == "latest":
        return None
    if not (version.isascii() and version.isdigit()):
        raise InvalidArgument(f"version {version!r}: must be a number or 'latest'")
    return check_dataset_version(int(version))

"""``/api/v1/runs/{run_id}/artifacts``: listing, streamed upload and download.

Clients never name a storage location: they give a path relative to the run's artifact
root, which is checked (no absolute paths, ``..``, backslashes, NUL or percent-encoded
forms of these) before anything is touched.
"""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from keel.entities.paths import safe_artifact_path
from keel.entities.rules import check_run_id
from keel.server.auth import requires
from keel.server.deps import ArtifactsDep
from keel.server.responses import JSON, download_headers
from keel.server.streams import consume_body
from keel.wire.artifacts import FileInfoPublic, FileList, file_info_to_dict

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])


@router.get("", dependencies=[requires("run:read")], response_model=FileList)
def list_artifacts(run_id: str, artifacts: ArtifactsDep, path: str | None = None) -> JSON:
    found = artifacts.list(run_id, safe_artifact_path(path, allow_root=True) or None)
    return JSON({"files": [file_info_to_dict(f) for f in found]})


@router.get("/stat", dependencies=[requires("run:read")], response_model=FileInfoPublic)
def stat_artifact(run_id: str, artifacts: ArtifactsDep, path: str = Query()) -> JSON:
    return JSON(file_info_to_dict(artifacts.stat(run_id, safe_artifact_path(path))))


@router.get("/content", dependencies=[requires("run:read")], response_class=StreamingResponse)
def download_artifact(
    run_id: str, artifacts: ArtifactsDep, path: str = Query()
) -> StreamingResponse:
    """The file's bytes. The server checks them against the recorded digest as it sends
    and cuts the response short on a mismatch; ``X-Keel-Digest`` lets the client check
    too."""
    info = artifacts.stat(run_id, safe_artifact_path(path))
    chunks = artifacts.read_chunks(run_id, info.path)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "X-Keel-Digest": info.digest or "",
            "Content-Length": str(info.file_size),
            **download_headers(info.path),
        },
    )


@router.put(
    "/content", dependencies=[requires("run:write")], response_model=FileInfoPublic, status_code=201
)
async def upload_artifact(
    run_id: str,
    request: Request,
    artifacts: ArtifactsDep,
    path: str = Query(),
    x_keel_digest: str | None = Header(default=None),
) -> JSON:
    """Stream the request body to the artifact store. With ``X-Keel-Digest`` (the
    BLAKE3 hex digest the client computed) a damaged upload is refused, nothing kept."""
    check_run_id(run_id)
    relative = safe_artifact_path(path)
    info = await consume_body(
        request,
        lambda chunks: artifacts.upload_stream(
            run_id, relative, chunks, expected_digest=x_keel_digest
        ),
    )
    return JSON(file_info_to_dict(info), status_code=201)

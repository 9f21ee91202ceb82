"""``RestDatasetStore``: the :class:`DatasetStore` interface over ``keel server``, and
``ServerObjects``, the server's dataset objects as a remote for push and pull."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from keel.artifacts.hashing import new_hasher
from keel.entities.dataset import (
    Dataset,
    DatasetInput,
    DatasetKind,
    DatasetVersion,
    check_dataset_name,
    check_digest,
)
from keel.errors import CorruptData, InvalidArgument
from keel.store.rest.http import Http
from keel.wire import routes
from keel.wire.datasets import (
    dataset_from_dict,
    dataset_input_from_dict,
    dataset_version_from_dict,
    manifest_from_dict,
)

USER_HEADER = "X-Keel-User"
MISSING_BATCH = 10_000
"""Digests asked about per request."""


class RestDatasetStore:
    def __init__(self, server: str | Http, *, timeout: float = 30.0) -> None:
        """``server``: a base URL, or the session another store of the same server uses."""
        self.http = server if isinstance(server, Http) else Http(server, timeout=timeout)
        self.base_url = self.http.base_url

    def close(self) -> None:
        self.http.close()

    def create_dataset_version(
        self,
        name: str,
        *,
        digest: str,
        manifest: bytes,
        kind: DatasetKind,
        file_count: int,
        total_bytes: int,
        source: str,
        actor: str,
        description: str = "",
        row_count: int | None = None,
        column_count: int | None = None,
        profile: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> tuple[DatasetVersion, bool]:
        body: dict[str, Any] = {
            "digest": digest,
            "manifest": base64.b64encode(manifest).decode("ascii"),
            "kind": str(kind),
            "file_count": file_count,
            "total_bytes": total_bytes,
            "source": source,
            "description": description,
            "row_count": row_count,
            "column_count": column_count,
            "profile": profile,
        }
        if project is not None:  # left out otherwise: the body an older server knows
            body["project"] = project
        found = self.http.request(
            *routes.CREATE_DATASET_VERSION.at(name=_name(name)),
            json=body,
            headers={USER_HEADER: quote(actor, safe="")},
        )
        return dataset_version_from_dict(found["version"]), bool(found["created"])

    def get_manifest(self, digest: str) -> bytes:
        check_digest(digest)
        found = self.http.request(*routes.GET_MANIFEST.at(digest=digest))
        return manifest_from_dict(found)

    def get_dataset(self, name: str) -> Dataset:
        return dataset_from_dict(self.http.request(*routes.GET_DATASET.at(name=_name(name))))

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        which = "latest" if version is None else str(version)
        route = routes.GET_DATASET_VERSION.at(name=_name(name), version=which)
        found = self.http.request(*route)
        return dataset_version_from_dict(found)

    def list_datasets(self) -> list[Dataset]:
        found = self.http.request(*routes.LIST_DATASETS.at())
        return [dataset_from_dict(d) for d in found["datasets"]]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        found = self.http.request(*routes.LIST_DATASET_VERSIONS.at(name=_name(name)))
        return [dataset_version_from_dict(v) for v in found["versions"]]

    def log_run_input(self, run_id: str, name: str, version: int, context: str) -> DatasetInput:
        body = {"name": name, "version": version, "context": context}
        found = self.http.request(*routes.LOG_RUN_INPUT.at(run_id=run_id), json=body)
        return dataset_input_from_dict(found)

    def run_inputs(self, run_id: str) -> list[DatasetInput]:
        found = self.http.request(*routes.RUN_INPUTS.at(run_id=run_id))
        return [dataset_input_from_dict(i) for i in found["inputs"]]

    def version_users(self, name: str, version: int) -> list[DatasetInput]:
        route = routes.VERSION_USERS.at(name=_name(name), version=version)
        found = self.http.request(*route)
        return [dataset_input_from_dict(i) for i in found["inputs"]]


class ServerObjects:
    """The server's dataset objects (``<its artifact root>/datasets``), for push and pull:
    uploads carry their digest and are refused whole if they do not match it; downloads
    are checked here as they arrive."""

    def __init__(self, server: str | Http, *, timeout: float = 30.0) -> None:
        self.http = server if isinstance(server, Http) else Http(server, timeout=timeout)
        self.root_uri = self.http.base_url

    def missing(self, digests: Iterable[str], *, verify: bool = False) -> set[str]:
        wanted = list(digests)
        lacking: set[str] = set()
        for start in range(0, len(wanted), MISSING_BATCH):
            batch = wanted[start : start + MISSING_BATCH]
            found = self.http.request(
                *routes.MISSING_OBJECTS.at(),
                json={"digests": batch, "verify": verify},
            )
            if verify and found.get("verified") is not True:  # a server from before verify
                raise InvalidArgument(
                    "verify: this server does not read objects back (it predates it); "
                    "upgrade it before `keel data gc` or `push --verify`"
                )
            lacking.update(found["missing"])
        return lacking

    def upload(
        self,
        digest: str,
        chunks: Iterable[bytes],
        *,
        dataset: str | None = None,
        project: str | None = None,
    ) -> None:
        params = {"dataset": dataset, "project": project}
        self.http.upload(
            routes.UPLOAD_OBJECT.path(digest=check_digest(digest)),
            chunks,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Content-Type": "application/octet-stream"},
        )

    def download(self, digest: str) -> Iterator[bytes]:
        hasher = new_hasher()
        url = routes.DOWNLOAD_OBJECT.path(digest=check_digest(digest))
        with self.http.download(url, params={}) as r:
            for chunk in r.iter_bytes():
                hasher.update(chunk)
                yield chunk
        if hasher.hexdigest() != digest:
            raise CorruptData(
                f"object {digest[:12]}: downloaded bytes do not match its digest; nothing kept"
            )


def _name(name: str) -> str:
    """A dataset name, checked before it goes into a URL path (``Route.path`` encodes it)."""
    return check_dataset_name(name)

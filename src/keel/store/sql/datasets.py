"""``SqlDatasetStore``: dataset versions and run inputs on SQLite or PostgreSQL.

It shares the tracking database (and, built from a tracking store, its engine). A new
version locks its dataset's row, so numbering is serialised per dataset on PostgreSQL as
SQLite's write lock serialises all writes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.artifacts.hashing import hash_bytes
from keel.entities import dataset as d
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.dataset import Dataset, DatasetInput, DatasetKind, DatasetVersion
from keel.entities.dataset_manifest import DataManifest
from keel.entities.json_depth import check_json_depth, stored_json
from keel.entities.rules import (
    check_actor,
    check_choice,
    check_int,
    check_run_id,
    check_text,
    name_key,
)
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from keel.store.sql import audit
from keel.store.sql.engine import make_engine, now_ms, read_transaction, write_transaction
from keel.store.sql.project_placement import project_id_named, require_placed
from keel.store.sql.tables import dataset_manifests, dataset_versions, datasets, run_inputs, runs

_SUMMARY = [column for column in dataset_versions.c if column.name != "profile"]


class SqlDatasetStore:
    """The constructor only builds an engine (or takes the tracking store's); use
    :func:`keel.store.open_backend`, which checks the schema."""

    def __init__(self, url: str | Engine) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

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
        d.check_dataset_name(name)
        d.check_digest(digest)
        if not isinstance(manifest, bytes) or hash_bytes(manifest) != digest:
            raise InvalidArgument("manifest: its BLAKE3 digest must be the version's digest")
        kind = check_choice(DatasetKind, kind, "kind")
        check_int("file_count", file_count)
        check_int("total_bytes", total_bytes)
        check_text("source", source)
        check_text("description", description)
        check_actor(actor)
        for field, value in (("row_count", row_count), ("column_count", column_count)):
            if value is not None:
                check_int(field, value)
        if profile is not None:
            check_json_depth("profile", profile)
        profile_text = None if profile is None else json.dumps(profile, allow_nan=False)
        # Checked before the write lock is taken, unless the content is the latest version
        # already (then it is checked under the lock only if the latest changed meanwhile).
        checked = self._latest_digest(name) != digest
        if checked:
            _check_figures(manifest, kind, file_count, total_bytes)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            last = _lock_dataset(conn, name, now, project_id_named(conn, project))
            if last:
                latest = _version_row(conn, name, last, with_profile=True)
                if latest.digest == digest:
                    return _version(latest), False
            version = last + 1
            if not checked:
                _check_figures(manifest, kind, file_count, total_bytes)
            _store_manifest(conn, digest, manifest)
            row = {
                "name": name,
                "version": version,
                "digest": digest,
                "kind": kind.value,
                "file_count": file_count,
                "total_bytes": total_bytes,
                "row_count": row_count,
                "column_count": column_count,
                "source": source,
                "description": description,
                "profile": profile_text,
                "created": now,
                "created_by": actor,
            }
            conn.execute(dataset_versions.insert().values(**row))
            conn.execute(
                update(datasets)
                .where(datasets.c.name == name)
                .values(last_version=version, updated=now)
            )
            audit.append(
                conn,
                audit.Entry(
                    AuditAction.DATASET_VERSION_CREATE,
                    ResourceType.DATASET,
                    name,
                    actor,
                    now,
                    version=version,
                    after={"digest": digest, "kind": kind.value, "source": source},
                ),
            )
        return _version_from_dict(row), True

    def _latest_digest(self, name: str) -> str | None:
        d, v = datasets.c, dataset_versions.c
        query = (
            select(v.digest)
            .join(datasets, (d.name == v.name) & (d.last_version == v.version))
            .where(d.name == name)
        )
        with read_transaction(self.engine) as conn:
            return conn.execute(query).scalar_one_or_none()

    def get_manifest(self, digest: str) -> bytes:
        d.check_digest(digest)
        c = dataset_manifests.c
        with read_transaction(self.engine) as conn:
            body = conn.execute(select(c.body).where(c.digest == digest)).scalar()
        if body is None:
            raise NotFound(f"dataset manifest {digest[:12]}: not in the store")
        return bytes(body)

    def get_dataset(self, name: str) -> Dataset:
        d.check_dataset_name(name)
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(datasets).where(datasets.c.name == name)).first()
        if row is None:
            raise NotFound(f"dataset {name!r}: no such dataset")
        return Dataset(row.name, row.description, row.created, row.updated, row.last_version)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        d.check_dataset_name(name)
        with read_transaction(self.engine) as conn:
            if version is None:
                last = conn.execute(
                    select(datasets.c.last_version).where(datasets.c.name == name)
                ).scalar()
                if not last:
                    raise NotFound(f"dataset {name!r}: no such dataset")
                version = int(last)
            d.check_dataset_version(version)
            return _version(_version_row(conn, name, version, with_profile=True))

    def list_datasets(self) -> list[Dataset]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(datasets).order_by(datasets.c.name)).all()
        return [Dataset(r.name, r.description, r.created, r.updated, r.last_version) for r in rows]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        self.get_dataset(name)
        c = dataset_versions.c
        query = select(*_SUMMARY).where(c.name == name).order_by(c.version.desc())
        with read_transaction(self.engine) as conn:
            return [_version(row) for row in conn.execute(query)]

    def log_run_input(self, run_id: str, name: str, version: int, context: str) -> DatasetInput:
        check_run_id(run_id)
        d.check_dataset_name(name)
        d.check_dataset_version(version)
        d.check_context(context)
        key = {"run_uuid": run_id, "name": name, "version": version, "context": context}
        with write_transaction(self.engine) as conn:
            if (
                conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first()
                is None
            ):
                raise NotFound(f"run {run_id!r}: no such run")
            _version_row(conn, name, version, with_profile=False)
            c = run_inputs.c
            existing = conn.execute(
                select(run_inputs).where(*(c[k] == v for k, v in key.items()))
            ).first()
            if existing is not None:
                return _input(existing)
            now = now_ms()
            conn.execute(run_inputs.insert().values(**key, created=now))
        return DatasetInput(run_id, name, version, context, now)

    def run_inputs(self, run_id: str) -> list[DatasetInput]:
        check_run_id(run_id)
        c = run_inputs.c
        query = select(run_inputs).where(c.run_uuid == run_id).order_by(c.created, c.name)
        with read_transaction(self.engine) as conn:
            return [_input(row) for row in conn.execute(query)]

    def version_users(self, name: str, version: int) -> list[DatasetInput]:
        d.check_dataset_name(name)
        d.check_dataset_version(version)
        c = run_inputs.c
        query = (
            select(run_inputs)
            .where(c.name == name, c.version == version)
            .order_by(c.created, c.run_uuid)
        )
        with read_transaction(self.engine) as conn:
            _version_row(conn, name, version, with_profile=False)
            return [_input(row) for row in conn.execute(query)]


def _check_figures(manifest: bytes, kind: DatasetKind, file_count: int, total_bytes: int) -> None:
    """A new version's kind, file count and size must be its manifest's own, which must be
    one Keel can read back: the store never records figures a client made up."""
    parsed = DataManifest.from_bytes(manifest)
    for field, claimed, actual in (
        ("kind", kind.value, parsed.kind.value),
        ("file_count", file_count, len(parsed.files)),
        ("total_bytes", total_bytes, parsed.total_bytes),
    ):
        if claimed != actual:
            raise InvalidArgument(f"{field}: must be the manifest's {actual!r}, got {claimed!r}")


def _store_manifest(conn: Connection, digest: str, manifest: bytes) -> None:
    c = dataset_manifests.c
    if conn.execute(select(c.digest).where(c.digest == digest)).first() is None:
        conn.execute(dataset_manifests.insert().values(digest=digest, body=manifest))


def _lock_dataset(conn: Connection, name: str, now: int, project_id: int | None = None) -> int:
    """The dataset's last version number (0 for a new dataset, made in ``project_id``
    when given), its row locked; an existing one in another project is a ``Conflict``."""
    c = datasets.c
    query = select(c.last_version, c.project_id).where(c.name == name).with_for_update()
    found = conn.execute(query).first()
    if found is None:
        key = name_key(name)
        # The default project is the column's default: left out unless another is named.
        placed = {} if project_id is None else {"project_id": project_id}
        try:
            with conn.begin_nested():
                conn.execute(
                    datasets.insert().values(
                        name=name,
                        name_key=key,
                        description="",
                        created=now,
                        updated=now,
                        last_version=0,
                        **placed,
                    )
                )
        except SqlIntegrityError:  # created by a concurrent writer: lock theirs
            pass
        found = conn.execute(query).first()
        if found is None:  # the key is another dataset's
            other = conn.execute(select(c.name).where(c.name_key == key)).scalar()
            raise AlreadyExists(
                f"dataset {name!r}: dataset {other!r} exists, and names that differ only by "
                "case or Unicode form are one name; use that one"
            )
    require_placed(conn, "dataset", name, found.project_id, project_id)
    return int(found.last_version)


def _version_row(conn: Connection, name: str, version: int, *, with_profile: bool) -> Row[Any]:
    c = dataset_versions.c
    columns = list(dataset_versions.c) if with_profile else _SUMMARY
    row = conn.execute(select(*columns).where(c.name == name, c.version == version)).first()
    if row is None:
        known = conn.execute(select(datasets.c.name).where(datasets.c.name == name)).first()
        if known is None:
            raise NotFound(f"dataset {name!r}: no such dataset")
        raise NotFound(f"dataset {name!r}: no version {version}")
    return row


def _version(row: Row[Any]) -> DatasetVersion:
    return _version_from_dict(row._asdict())


def _version_from_dict(row: dict[str, Any]) -> DatasetVersion:
    profile = row.get("profile")
    return DatasetVersion(
        name=row["name"],
        version=row["version"],
        digest=row["digest"],
        kind=DatasetKind(row["kind"]),
        file_count=row["file_count"],
        total_bytes=row["total_bytes"],
        source=row["source"],
        description=row["description"],
        created=row["created"],
        created_by=row["created_by"],
        row_count=row.get("row_count"),
        column_count=row.get("column_count"),
        profile=stored_json(profile),  # one stored too deep before the limit: None
    )


def _input(row: Row[Any]) -> DatasetInput:
    return DatasetInput(row.run_uuid, row.name, row.version, row.context, row.created)

"""Datasets: a named dataset, its immutable numbered versions, and the runs that used them.

A version is identified by the BLAKE3 digest of its manifest (every file's path, size and
digest); the files themselves live content-addressed in the object store, so versions that
share files share storage. ``datasets:/<name>@<version>`` (or ``datasets:/<name>@latest``)
names a version everywhere one is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keel.entities.rules import check_model_name, check_version
from keel.errors import InvalidArgument

DATASETS_SCHEME = "datasets:/"
MAX_CONTEXT_LENGTH = 64
_CONTEXT = re.compile(r"[a-z0-9_-]+")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class DatasetKind(StrEnum):
    FILE = "file"
    FOLDER = "folder"
    TABLE = "table"


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    description: str
    created: int
    updated: int
    last_version: int


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version. ``profile`` (tables only) is the column profile as a JSON
    object; listings leave it out (None) and ``get`` fills it in."""

    name: str
    version: int
    digest: str
    kind: DatasetKind
    file_count: int
    total_bytes: int
    source: str
    description: str
    created: int
    created_by: str
    row_count: int | None = None
    column_count: int | None = None
    profile: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def uri(self) -> str:
        return f"{DATASETS_SCHEME}{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A run used a dataset version, in a context (``training``, ``evaluation``...)."""

    run_id: str
    name: str
    version: int
    context: str
    created: int


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A parsed ``datasets:/<name>@<version>``; ``version`` None means the latest."""

    name: str
    version: int | None

    def __str__(self) -> str:
        return f"{DATASETS_SCHEME}{self.name}@{self.version or 'latest'}"


def check_dataset_name(value: object, field: str = "dataset name") -> str:
    return check_model_name(value, field, uris=f"{DATASETS_SCHEME}<name>@<version>")


def check_dataset_version(value: object, field: str = "version") -> int:
    return check_version(value, field)


def check_context(value: object, field: str = "context") -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{field}: must be a non-empty string")
    if len(value) > MAX_CONTEXT_LENGTH or not _CONTEXT.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value[:40]!r}: must be at most {MAX_CONTEXT_LENGTH} lowercase letters, "
            "digits, '-' or '_' (like 'training' or 'evaluation')"
        )
    return value


def check_digest(value: object, field: str = "digest") -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise InvalidArgument(f"{field}: must be 64 lowercase hex digits (a BLAKE3 digest)")
    return value


def parse_dataset_ref(text: object, field: str = "dataset") -> DatasetRef:
    """``datasets:/churn@3``, ``churn@3``, ``churn@latest`` or ``churn`` (the latest)."""
    if not isinstance(text, str) or not text:
        raise InvalidArgument(f"{field}: must be a string like datasets:/<name>@<version>")
    body = text.removeprefix(DATASETS_SCHEME)
    scheme, sep, _ = body.partition(":/")
    if sep and "/" not in scheme and "@" not in scheme:  # another kind of URI
        raise InvalidArgument(
            f"{field} {text!r}: must be {DATASETS_SCHEME}<name>@<version> or <name>@<version>"
        )
    name, at, version = body.rpartition("@")
    if not at:
        name, version = body, "latest"
    check_dataset_name(name, f"{field} name")
    if version == "latest":
        return DatasetRef(name, None)
    if not (version.isascii() and version.isdigit()):
        raise InvalidArgument(
            f"{field} {text!r}: the version after '@' must be a number or 'latest'"
        )
    return DatasetRef(name, check_dataset_version(int(version), f"{field} version"))

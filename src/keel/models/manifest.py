"""``keel-model.json``: what a model package holds and how to load it.

A package is a folder: the manifest, the model's files as its flavor wrote them, and
perhaps an input example. The manifest lists every other file with its size and BLAKE3
digest, so a loader checks the bytes before it lets a library read them.

>>> manifest = ModelManifest.from_json(text)        # doctest: +SKIP
>>> manifest.flavor, sorted(manifest.files)         # doctest: +SKIP
('sklearn', ['input_example.json', 'model.skops'])
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.entities.paths import safe_artifact_path
from keel.errors import InvalidArgument
from keel.models.signature import Signature
from keel.uri import MODEL_MANIFEST

MANIFEST_NAME = MODEL_MANIFEST
FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_FILES = 10_000
MAX_JSON_DEPTH = 16

_FLAVOR_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PYTHON_VERSION = re.compile(r"3\.\d{1,3}(\.\d{1,3})?([a-z]+\d*)?")
_VERSION = re.compile(r"[A-Za-z0-9.+!_-]{1,64}")
_SPEC = r"[ \t]*(===|==|!=|<=|>=|~=|<|>)[ \t]*[A-Za-z0-9.*+!_-]+[ \t]*"
REQUIREMENT = re.compile(
    rf"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._,-]+\])?({_SPEC}(,{_SPEC})*)?"
)
"""A package name, extras and version specifiers: no pip options, URLs or markers, which
could point an installer anywhere."""

_FIELDS = {
    "format_version",
    "flavor",
    "flavors",
    "signature",
    "input_example",
    "python_version",
    "requirements",
    "files",
    "created",
    "source_run_id",
    "keel_version",
    "metadata",
}


@dataclass(frozen=True, slots=True)
class FileEntry:
    size: int
    blake3: str

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InvalidArgument(f"files: size must be a non-negative integer, got {self.size!r}")
        if not isinstance(self.blake3, str) or not _DIGEST.fullmatch(self.blake3):
            raise InvalidArgument("files: blake3 must be 64 lowercase hex characters")


@dataclass(frozen=True, slots=True)
class ModelManifest:
    flavor: str
    flavors: Mapping[str, Mapping[str, Any]]
    files: Mapping[str, FileEntry]
    python_version: str
    requirements: tuple[str, ...]
    created: int
    keel_version: str
    signature: Signature | None = None
    input_example: str | None = None
    source_run_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION or isinstance(self.format_version, bool):
            raise InvalidArgument(
                f"format_version: this Keel reads version {FORMAT_VERSION}, got "
                f"{self.format_version!r}; upgrade Keel to load this model"
            )
        object.__setattr__(self, "files", _check_files(self.files))
        object.__setattr__(self, "flavors", _check_flavors(self.flavors, self.files))
        if not isinstance(self.flavor, str) or self.flavor not in self.flavors:
            raise InvalidArgument(
                f"flavor: must name one of the package's flavors "
                f"({', '.join(sorted(self.flavors))}), got {self.flavor!r}"
            )
        if self.signature is not None and not isinstance(self.signature, Signature):
            raise InvalidArgument("signature: must be a Signature or null")
        if self.input_example is not None:
            _check_listed("input_example", self.input_example, self.files)
        _check_str("python_version", self.python_version, _PYTHON_VERSION, "like '3.11.7'")
        object.__setattr__(self, "requirements", _check_requirements(self.requirements))
        if isinstance(self.created, bool) or not isinstance(self.created, int) or self.created < 0:
            raise InvalidArgument("created: must be milliseconds since the epoch (an integer >= 0)")
        if self.source_run_id is not None:
            _check_str("source_run_id", self.source_run_id, _RUN_ID, "a run id")
        _check_str("keel_version", self.keel_version, _VERSION, "a version string")
        if not isinstance(self.metadata, Mapping):
            raise InvalidArgument("metadata: must be a JSON object")
        _check_json("metadata", self.metadata, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "flavors": {name: dict(info) for name, info in self.flavors.items()},
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "python_version": self.python_version,
            "requirements": list(self.requirements),
            "files": {
                path: {"size": entry.size, "blake3": entry.blake3}
                for path, entry in sorted(self.files.items())
            },
            "created": self.created,
            "source_run_id": self.source_run_id,
            "keel_version": self.keel_version,
            "metadata": dict(self.metadata),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelManifest:
        if len(text) > MAX_MANIFEST_BYTES:
            raise InvalidArgument(f"{MANIFEST_NAME}: larger than {MAX_MANIFEST_BYTES} bytes")
        try:
            raw = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise InvalidArgument(f"{MANIFEST_NAME}: not valid JSON ({exc})") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: object) -> ModelManifest:
        if not isinstance(raw, dict):
            raise InvalidArgument(f"{MANIFEST_NAME}: must be a JSON object")
        unknown = sorted(str(key) for key in raw if key not in _FIELDS)
        if unknown:
            raise InvalidArgument(f"{MANIFEST_NAME}: unknown fields {unknown}")
        missing = sorted(
            name
            for name in _FIELDS - {"signature", "input_example", "source_run_id", "metadata"}
            if name not in raw
        )
        if missing:
            raise InvalidArgument(f"{MANIFEST_NAME}: missing fields {missing}")
        files = raw["files"]
        if not isinstance(files, dict):
            raise InvalidArgument("files: must be a JSON object of path -> {size, blake3}")
        entries = {}
        for path, entry in files.items():
            if not isinstance(entry, dict) or set(entry) != {"size", "blake3"}:
                raise InvalidArgument(f"files {path!r}: must be an object with size and blake3")
            try:
                entries[path] = FileEntry(entry["size"], entry["blake3"])
            except InvalidArgument as exc:
                rule = exc.message.removeprefix("files: ")
                raise InvalidArgument(f"files {path!r}: {rule}") from None
        requirements = raw["requirements"]
        if not isinstance(requirements, list):
            raise InvalidArgument("requirements: must be a list of strings")
        signature = raw.get("signature")
        return cls(
            format_version=raw["format_version"],
            flavor=raw["flavor"],
            flavors=raw["flavors"],
            files=entries,
            python_version=raw["python_version"],
            requirements=tuple(requirements),
            created=raw["created"],
            keel_version=raw["keel_version"],
            signature=None if signature is None else Signature.from_dict(signature),
            input_example=raw.get("input_example"),
            source_run_id=raw.get("source_run_id"),
            metadata=raw.get("metadata") or {},
        )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _check_str(field: str, value: object, pattern: re.Pattern[str], rule: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidArgument(f"{field}: must be {rule}, got {value!r}")


def _check_files(files: object) -> dict[str, FileEntry]:
    if not isinstance(files, Mapping):
        raise InvalidArgument("files: must be a mapping of path -> FileEntry")
    if len(files) > MAX_FILES:
        raise InvalidArgument(f"files: a package may hold at most {MAX_FILES} files")
    checked: dict[str, FileEntry] = {}
    for path, entry in files.items():
        clean = safe_artifact_path(path, field="files")
        if clean != path or clean == MANIFEST_NAME:
            raise InvalidArgument(
                f"files {path!r}: must be a plain relative path, not the manifest itself"
            )
        if not isinstance(entry, FileEntry):
            raise InvalidArgument(f"files {path!r}: must be a FileEntry")
        checked[path] = entry
    return checked


def _check_listed(field: str, path: object, files: Mapping[str, FileEntry]) -> str:
    if not isinstance(path, str):
        raise InvalidArgument(f"{field}: must be a file name, got {type(path).__name__}")
    clean = safe_artifact_path(path, field=field)
    if clean not in files:
        raise InvalidArgument(f"{field} {path!r}: is not one of the package's files")
    return clean


def _check_flavors(flavors: object, files: Mapping[str, FileEntry]) -> dict[str, dict[str, Any]]:
    if not isinstance(flavors, Mapping) or not flavors:
        raise InvalidArgument("flavors: must be a non-empty object of flavor name -> info")
    checked: dict[str, dict[str, Any]] = {}
    for name, info in flavors.items():
        if not isinstance(name, str) or not _FLAVOR_NAME.fullmatch(name):
            raise InvalidArgument(
                f"flavors: names must be lowercase identifiers (like 'sklearn'), got {name!r}"
            )
        if not isinstance(info, Mapping):
            raise InvalidArgument(f"flavors[{name!r}]: must be a JSON object")
        _check_json(f"flavors[{name!r}]", info, 0)
        if "file" in info:
            # The one key a flavor reads a file through: it must be the package's own.
            _check_listed(f"flavors[{name!r}].file", info["file"], files)
        checked[name] = dict(info)
    return checked


def _check_requirements(requirements: object) -> tuple[str, ...]:
    if not isinstance(requirements, list | tuple):
        raise InvalidArgument("requirements: must be a list of strings")
    for index, requirement in enumerate(requirements):
        if not isinstance(requirement, str) or not REQUIREMENT.fullmatch(requirement):
            raise InvalidArgument(
                f"requirements[{index}]: must be a package requirement like 'name==1.2' "
                f"(no pip options, URLs or markers), got {requirement!r}"
            )
    return tuple(requirements)


def _check_json(field: str, value: object, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise InvalidArgument(f"{field}: nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidArgument(f"{field}: NaN and infinity are not JSON")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json(field, item, depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(f"{field}: keys must be strings, got {key!r}")
            _check_json(f"{field}.{key}", item, depth + 1)
        return
    raise InvalidArgument(f"{field}: {type(value).__name__} is not a JSON value")

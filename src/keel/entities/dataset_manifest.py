"""A version's manifest: what it holds, file by file, and nothing that could change.

The manifest is canonical JSON (sorted keys, no spaces) and its BLAKE3 digest is the
version's identity: the same files at the same paths give the same digest on any machine.
Profiles and descriptions are kept beside it in the database, not in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

from keel.entities.dataset import DatasetKind, check_digest
from keel.entities.paths import safe_artifact_path
from keel.errors import InvalidArgument

FORMAT = 1
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
"""Paths of plain characters, checked by one regex; any other goes through
``safe_artifact_path`` (percent-encoding, control characters, ``..``)."""
_SEGMENT = r"(?!\.\.?(?:/|\n|$))[A-Za-z0-9_.-]+"
_PLAIN_LINES = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*(?:\n{_SEGMENT}(?:/{_SEGMENT})*)*")
"""Many paths joined by newlines, all plain and none with a ``.`` or ``..`` segment: one
regex for a whole manifest instead of one per file."""
_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True, slots=True)
class DataFile:
    size: int
    digest: str


@dataclass(frozen=True, slots=True)
class DataManifest:
    kind: DatasetKind
    files: Mapping[str, DataFile]
    """POSIX relative path -> size and digest; a single file or table is one entry."""

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files.values())

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "kind": self.kind.value,
            "files": {path: [f.size, f.digest] for path, f in sorted(self.files.items())},
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "manifest") -> DataManifest:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(body, Mapping) or body.get("format") != FORMAT:
            raise InvalidArgument(f"{source}: not a Keel dataset manifest (format {FORMAT})")
        try:
            kind = DatasetKind(str(body.get("kind")))
        except ValueError:
            raise InvalidArgument(f"{source}: kind must be file, folder or table") from None
        files = body.get("files")
        if not isinstance(files, Mapping) or not files:
            raise InvalidArgument(f"{source}: files must be a non-empty object")
        try:
            checked = {path: DataFile(size, digest) for path, (size, digest) in files.items()}
        except (TypeError, ValueError):
            checked = {}
        sizes_ok = all(type(f.size) is int and f.size >= 0 for f in checked.values())
        digests = [f.digest for f in checked.values()]
        if (
            len(checked) != len(files)
            or not sizes_ok
            or not all(type(d) is str and len(d) == 64 for d in digests)
            or not _HEX.fullmatch("".join(digests))
        ):
            for path, entry in files.items():  # the slow way, to name the bad entry
                if (
                    not isinstance(entry, list)
                    or len(entry) != 2
                    or type(entry[0]) is not int
                    or entry[0] < 0
                ):
                    raise InvalidArgument(f"{source}: files[{path!r}] must be [size, digest]")
                check_digest(entry[1], f"files[{path!r}]")
        joined = "\n".join(checked)
        if joined.count("\n") != len(checked) - 1 or not _PLAIN_LINES.fullmatch(joined):
            for path in checked:
                field = f"{source}: file path"
                if safe_artifact_path(path, field=field) != path:  # says what is wrong
                    raise InvalidArgument(f"{field} {path!r}: must not end with '/'")
        clash = _folders(checked).intersection(checked)
        if clash:
            raise InvalidArgument(
                f"{source}: file path {min(clash)!r}: is both a file and a folder of files"
            )
        return cls(kind, checked)


def _folders(paths: Iterable[str]) -> set[str]:
    """Every folder the paths lie in (``a/b/c`` lies in ``a/b`` and ``a``)."""
    folders: set[str] = set()
    for path in paths:
        head = path.rpartition("/")[0]
        while head and head not in folders:
            folders.add(head)
            head = head.rpartition("/")[0]
    return folders


def unreadable_paths(paths: list[str]) -> list[str]:
    """The paths a manifest could not hold (as ``from_bytes`` reads them): not UTF-8,
    absolute, ``..``, backslashes, control characters or percent-encoded forms of these."""
    bad = []
    for path in paths:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            continue
        if _PLAIN.fullmatch(path) and "/./" not in f"/{path}/" and "/../" not in f"/{path}/":
            continue
        try:
            safe_artifact_path(path, field="path")
        except InvalidArgument:
            bad.append(path)
    return bad

"""Unpacking a model archive (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip) safely.

Every member is checked before anything is written: a name with ``..``, an absolute
path, a backslash or a drive letter, a link (symbolic or hard), a device, a FIFO, a name
given twice, or a file where another member needs a folder is refused, as are archives
over a member count or total size. Files are then written into a fresh folder beside
``dest`` (only plain files and folders, no permissions kept) and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keel.artifacts.hashing import CHUNK_SIZE
from keel.entities.ids import new_id
from keel.entities.paths import safe_artifact_path
from keel.errors import AlreadyExists, InvalidArgument

MAX_MEMBERS = 10_000
MAX_BYTES = 16 * 1024**3


@dataclass(frozen=True, slots=True)
class _Member:
    path: str
    is_dir: bool
    size: int
    key: object  # the library's own handle: a TarInfo or a ZipInfo


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_BYTES,
    max_members: int = MAX_MEMBERS,
) -> Path:
    """Unpack ``archive`` into the new folder ``dest``; returns ``dest``."""
    source, target = Path(archive), Path(dest)
    if target.exists():
        raise AlreadyExists(f"dest {str(target)!r}: already exists; pick a new folder")
    if not source.is_file():
        raise InvalidArgument(f"archive {str(source)!r}: not a file")
    with _opened(source) as (reader, listing):
        members = _checked(listing, max_bytes=max_bytes, max_members=max_members)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.partial-{new_id()[:12]}"
        staging.mkdir()
        try:
            for member in members:
                _write(reader, member, staging)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


Reader = tarfile.TarFile | zipfile.ZipFile


@contextmanager
def _opened(source: Path) -> Iterator[tuple[Reader, list[tuple[str, str | None, int, object]]]]:
    """The open archive and its members as (name, refusal or None, size, key)."""
    opened = False
    try:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zipped:
                opened = True
                yield zipped, [_zip_entry(info) for info in zipped.infolist()]
            return
        with tarfile.open(source, mode="r:*") as tarred:
            opened = True
            yield tarred, [_tar_entry(info) for info in tarred.getmembers()]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        what = "damaged" if opened else "not a zip or tar archive"
        raise InvalidArgument(f"archive {source.name!r}: {what} ({exc})") from None


def _tar_entry(info: tarfile.TarInfo) -> tuple[str, str | None, int, object]:
    if info.isdir():
        return info.name + "/", None, 0, info
    if info.isfile():
        return info.name, None, info.size, info
    kind = (
        "a symbolic link"
        if info.issym()
        else "a hard link"
        if info.islnk()
        else "a device"
        if info.ischr() or info.isblk()
        else "a FIFO"
        if info.isfifo()
        else "not a plain file"
    )
    return info.name, kind, 0, info


def _zip_entry(info: zipfile.ZipInfo) -> tuple[str, str | None, int, object]:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return (
            info.filename,
            "a symbolic link" if stat.S_ISLNK(mode) else "not a plain file",
            0,
            info,
        )
    if info.is_dir():
        return info.filename, None, 0, info
    return info.filename, None, info.file_size, info


def _checked(
    listing: list[tuple[str, str | None, int, object]], *, max_bytes: int, max_members: int
) -> list[_Member]:
    if len(listing) > max_members:
        raise InvalidArgument(f"archive: more than {max_members} members")
    members: dict[str, _Member] = {}
    total = 0
    for name, refusal, size, key in listing:
        if refusal is not None:
            raise InvalidArgument(f"archive member {name!r}: is {refusal}; only files are kept")
        is_dir = name.endswith("/")
        relative = name
        while relative.startswith("./"):  # tar's "./model.pt"
            relative = relative[2:]
        if relative in ("", ".", "./"):
            continue
        path = safe_artifact_path(relative, field="archive member")
        if path in members:
            raise InvalidArgument(f"archive member {name!r}: appears twice")
        total += size
        if total > max_bytes:
            raise InvalidArgument(f"archive: unpacks to more than {max_bytes} bytes")
        members[path] = _Member(path, is_dir, size, key)
    for member in members.values():
        parts = member.path.split("/")
        for depth in range(1, len(parts)):
            parent = members.get("/".join(parts[:depth]))
            if parent is not None and not parent.is_dir:
                raise InvalidArgument(
                    f"archive member {member.path!r}: {parent.path!r} is a file, not a folder"
                )
    return sorted(members.values(), key=lambda member: member.path)


def _write(reader: Reader, member: _Member, staging: Path) -> None:
    target = staging / member.path
    if member.is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with _member_stream(reader, member) as src, open(target, "xb") as out:
        written = 0
        while chunk := src.read(CHUNK_SIZE):
            written += len(chunk)
            if written > member.size:  # a zip header may understate what follows
                raise InvalidArgument(
                    f"archive member {member.path!r}: holds more than its stated size"
                )
            out.write(chunk)


@contextmanager
def _member_stream(reader: Reader, member: _Member) -> Iterator[IO[bytes]]:
    if isinstance(reader, zipfile.ZipFile):
        assert isinstance(member.key, zipfile.ZipInfo)
        with reader.open(member.key) as stream:
            yield stream
        return
    assert isinstance(member.key, tarfile.TarInfo)
    extracted = reader.extractfile(member.key)
    if extracted is None:
        raise InvalidArgument(f"archive member {member.path!r}: has no content to read")
    with extracted:
        yield extracted

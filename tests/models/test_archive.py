"""Model archives unpack only plain files inside the destination, or not at all."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from keel.errors import AlreadyExists, InvalidArgument
from keel.models import extract_archive, load_model, save_model


def tar_with(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str) -> Path:
    with tarfile.open(path, mode) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


class Doubler:
    def predict(self, data: object) -> object:
        return np.asarray(data) * 2


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".zip"])
def test_a_packed_model_unpacks_and_loads(tmp_path: Path, suffix: str) -> None:
    package = tmp_path / "package"
    save_model(Doubler(), package, input_example=np.ones((1, 2)))
    archive = tmp_path / f"model{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as out:
            for file in sorted(package.iterdir()):
                out.write(file, file.name)
    else:
        with tarfile.open(archive, "w:gz" if suffix.endswith("gz") else "w") as out:
            out.add(package, arcname=".")
    dest = extract_archive(archive, tmp_path / "unpacked" / "model")
    loaded = load_model(dest, trust=True)
    assert loaded.predict(np.ones((1, 2))).tolist() == [[2.0, 2.0]]


HOSTILE_TAR = {
    "dotdot": [(member("ok.txt"), b"fine"), (member("../escape.txt"), b"x")],
    "nested-dotdot": [(member("a/../../escape.txt"), b"x")],
    "absolute": [(member("/tmp/escape.txt"), b"x")],
    "backslash": [(member("..\\escape.txt"), b"x")],
    "symlink": [(member("ok.txt"), b"fine"), (member("link", tarfile.SYMTYPE, "/etc"), None)],
    "hardlink": [(member("link", tarfile.LNKTYPE, "/etc/passwd"), None)],
    "device": [(member("dev", tarfile.CHRTYPE), None)],
    "fifo": [(member("pipe", tarfile.FIFOTYPE), None)],
    "twice": [(member("a.txt"), b"1"), (member("a.txt"), b"2")],
    "file-as-folder": [(member("a"), b"1"), (member("a/b"), b"2")],
}


@pytest.mark.parametrize("case", list(HOSTILE_TAR))
@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_hostile_tar_members_are_refused_before_anything_is_written(
    tmp_path: Path, case: str, mode: str
) -> None:
    archive = tar_with(tmp_path / "evil.tar", HOSTILE_TAR[case], mode)
    canary = tmp_path / "canary"
    canary.mkdir()
    with pytest.raises(InvalidArgument, match="archive member"):
        extract_archive(archive, canary / "model")
    assert os.listdir(canary) == []
    assert not (tmp_path / "escape.txt").exists()


def zip_with(path: Path, names: list[str], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16) | 0
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("names", "symlink"),
    [
        (["ok.txt", "../escape.txt"], None),
        (["/abs.txt"], None),
        (["a\\..\\..\\escape.txt"], None),
        (["C:/windows.txt"], None),
        (["ok.txt"], "link"),
    ],
)
def test_hostile_zip_members_are_refused_before_anything_is_written(
    tmp_path: Path, names: list[str], symlink: str | None
) -> None:
    archive = zip_with(tmp_path / "evil.zip", names, symlink=symlink)
    canary = tmp_path / "canary"
    canary.mkdir()
    with pytest.raises(InvalidArgument, match="archive member"):
        extract_archive(archive, canary / "model")
    assert os.listdir(canary) == []


def test_limits_and_bad_input(tmp_path: Path) -> None:
    archive = zip_with(tmp_path / "many.zip", [f"f{i}" for i in range(5)])
    with pytest.raises(InvalidArgument, match="more than 4 members"):
        extract_archive(archive, tmp_path / "a", max_members=4)
    with pytest.raises(InvalidArgument, match="more than 3 bytes"):
        extract_archive(archive, tmp_path / "b", max_bytes=3)
    (tmp_path / "junk.tar").write_bytes(b"not an archive at all" * 40)
    with pytest.raises(InvalidArgument, match="not a zip or tar archive"):
        extract_archive(tmp_path / "junk.tar", tmp_path / "c")
    (tmp_path / "d").mkdir()
    with pytest.raises(AlreadyExists):
        extract_archive(archive, tmp_path / "d")
    assert sorted(os.listdir(tmp_path)) == ["d", "junk.tar", "many.zip"]

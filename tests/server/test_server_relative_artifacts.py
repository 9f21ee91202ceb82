"""A relative artifact root (``--artifacts-uri ./artifacts``, ``KEEL_ARTIFACTS_URI``) names
the folder the server or store was started in, once: the store records it absolute, so a
server started again from another folder, over the same database, finds every artifact. A
file lost in storage is reported as missing, with where it was looked for."""

from __future__ import annotations

from pathlib import Path

import pytest

import keel
from conftest import ServerProcess, settings_for, unique
from keel.config import Settings
from keel.errors import CorruptData


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path.resolve() / "first", tmp_path.resolve() / "second"
    first.mkdir()
    second.mkdir()
    return first, second


def test_a_server_started_again_from_another_folder_finds_the_artifacts(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = folders
    backend = f"sqlite:///{tmp_path / 'keel.db'}"
    monkeypatch.chdir(first)  # the server process starts in the test's folder
    server = ServerProcess(backend, Path("artifacts"), tmp_path / "first.log").start()
    try:
        with keel.Client(server.url, settings=settings_for(tmp_path)) as client:
            run = client.create_run(client.create_experiment(unique())).run_id
            client.log_bytes(run, b"weights", "m/w.bin")
            assert client.get_run(run).info.artifact_uri.startswith(f"{first}/artifacts/")
    finally:
        server.stop()

    monkeypatch.chdir(second)
    server = ServerProcess(backend, Path("artifacts"), tmp_path / "second.log").start()
    try:
        with keel.Client(server.url, settings=settings_for(tmp_path)) as client:
            out = client.download_artifacts(run, "m/w.bin", tmp_path / "out")
            assert out.read_bytes() == b"weights"
            (first / "artifacts").rename(tmp_path / "moved")
            with pytest.raises(CorruptData) as lost:
                client.download_artifacts(run, "m/w.bin", tmp_path / "again")
    finally:
        server.stop()
    message = str(lost.value)
    assert "missing" in message and f"{first}/artifacts/" in message and "m/w.bin" in message
    assert "None" not in message


def test_a_relative_artifact_root_of_an_embedded_store_is_recorded_absolute(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = folders
    uri = f"sqlite:///{tmp_path / 'keel.db'}"
    settings = Settings(home=tmp_path / "home", artifacts_uri="artifacts")
    monkeypatch.chdir(first)
    with keel.Client(uri, settings=settings) as client:
        run = client.create_run(client.create_experiment(unique())).run_id
        client.log_text(run, "hello", "note.txt")
    assert (first / "artifacts").is_dir()
    monkeypatch.chdir(second)
    with keel.Client(uri, settings=settings) as client:
        assert client.download_artifacts(run, "note.txt", tmp_path / "out").read_text() == "hello"
    assert not (second / "artifacts").exists()

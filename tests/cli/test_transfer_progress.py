"""Transfers report progress (``keel.entities.progress.Progress``); the command line draws
it as a bar on a terminal only, and a Ctrl-C during a transfer prints one line saying what
was kept and exits 130."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from keel.cli import progress as cli_progress
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.data import hashing

runner = CliRunner()


class Recorder:
    """A Progress that keeps every report (calls may come from threads)."""

    def __init__(self) -> None:
        self.phases: list[tuple[int, int, str]] = []
        self.advanced: list[int] = []
        self.files_done = 0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, files: int, what: str) -> None:
        with self._lock:
            self.phases.append((total_bytes, files, what))
            self.advanced.append(0)

    def advance(self, n_bytes: int) -> None:
        with self._lock:
            self.advanced[-1] += n_bytes

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[Client]:
    c = Client(str(home), settings=Settings(home=home))
    yield c
    c.close()


def files(folder: Path, sizes: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, size in enumerate(sizes):
        (folder / f"f{index}.bin").write_bytes(os.urandom(size))
    return folder


# what the lower layers report ---------------------------------------------------------------


def test_data_add_push_pull_and_get_report_each_phase(client: Client, tmp_path: Path) -> None:
    src = files(tmp_path / "src", [1000, 2000, 3000])
    added = Recorder()
    version = client.data.add(src, name="three", progress=added).version
    assert added.phases == [(6000, 3, "hashing")]
    assert added.advanced == [6000] and added.files_done == 3

    pushed = Recorder()
    client.data.push([version], progress=pushed)
    assert pushed.phases[-1] == (6000, 3, "pushing") and pushed.files_done == 3
    assert pushed.advanced[-1] == 6000

    got = Recorder()
    client.data.get(version, tmp_path / "out", progress=got)
    assert got.phases[-1] == (6000, 3, "copying") and got.advanced[-1] == 6000


def test_artifact_upload_and_download_report_bytes_and_files(
    client: Client, tmp_path: Path
) -> None:
    src = files(tmp_path / "art", [10, 20_000])
    run = client.create_run(client.create_experiment("progress"))
    up = Recorder()
    client.log_artifacts(run.info.run_id, src, "data", progress=up)
    assert up.phases == [(20_010, 2, "uploading")]
    assert up.advanced == [20_010] and up.files_done == 2
    down = Recorder()
    client.download_artifacts(run.info.run_id, "data", tmp_path / "back", progress=down)
    assert down.phases == [(20_010, 2, "downloading")]
    assert down.advanced == [20_010] and down.files_done == 2


def test_a_big_file_reports_as_it_is_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 3 GiB add used to be silent until its one file was hashed: a big file now reports
    # segment by segment, and the digest is the same as hashing it in one call.
    monkeypatch.setattr(hashing, "PROGRESS_SEGMENT", 1024 * 1024)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(hashing.MMAP_THRESHOLD + 123_456))
    steps: list[int] = []
    assert hashing.hash_file(big, advance=steps.append) == hashing.hash_file(big)
    assert len(steps) == 5 and sum(steps) == big.stat().st_size


# the bar -------------------------------------------------------------------------------------


def forced_terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


def test_the_bar_is_drawn_on_a_terminal() -> None:
    console, out = forced_terminal()
    with cli_progress.transfer("scanning", resume="x", console=console, delay=0) as bar:
        bar.start(3 * 1024 * 1024, 3, "hashing")
        for _ in range(3):
            bar.advance(1024 * 1024)
            bar.file_done()
        time.sleep(0.3)  # Rich redraws about ten times a second
    drawn = out.getvalue()
    assert "hashing" in drawn and "3/3 files" in drawn and "3.1 MB" in drawn


def test_no_bar_in_a_pipe_or_for_a_quick_transfer() -> None:
    piped = Console(file=io.StringIO(), width=120)  # not a terminal
    with cli_progress.transfer("x", resume="x", console=piped, delay=0) as bar:
        bar.start(10, 1, "hashing")
        bar.advance(10)
        time.sleep(0.2)
    assert piped.file.getvalue() == ""  # type: ignore[attr-defined]
    console, out = forced_terminal()
    with cli_progress.transfer("x", resume="x", console=console, delay=5) as bar:
        bar.start(10, 1, "hashing")
        bar.advance(10)
    assert out.getvalue() == ""


def test_commands_draw_on_a_forced_terminal(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console, out = forced_terminal()
    monkeypatch.setattr(cli_progress, "make_console", lambda: console)
    monkeypatch.setattr(cli_progress, "DELAY_SECONDS", 0.0)
    slow = cli_progress.TransferBar.file_done

    def file_done(self: cli_progress.TransferBar) -> None:
        slow(self)
        time.sleep(0.15)  # long enough for Rich to draw between files

    monkeypatch.setattr(cli_progress.TransferBar, "file_done", file_done)
    src = files(tmp_path / "src", [1000, 2000])
    result = runner.invoke(app, ["data", "add", str(src), "-n", "drawn"])
    assert result.exit_code == 0, result.output
    assert "hashing" in out.getvalue() and "/2 files" in out.getvalue()
    assert "hashing" not in result.stdout  # the bar is on standard error only


# Ctrl-C ---------------------------------------------------------------------------------------


def interrupt_after(monkeypatch: pytest.MonkeyPatch, files_done: int) -> None:
    """Ctrl-C arrives as the ``files_done``-th file is done."""
    original = cli_progress.TransferBar.file_done

    def file_done(self: cli_progress.TransferBar) -> None:
        original(self)
        if self.files_done == files_done:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_progress.TransferBar, "file_done", file_done)


def test_ctrl_c_during_a_push_says_what_was_kept_and_exits_130(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = files(tmp_path / "src", [300_000, 400_000, 500_000, 600_000])  # not packed
    assert runner.invoke(app, ["data", "add", str(src), "-n", "four"]).exit_code == 0
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        result = runner.invoke(app, ["data", "push", "four@1"])
    assert result.exit_code == 130
    # Objects go up several at a time: those already on their way when Ctrl-C came finish
    # (and are counted) before the line is printed.
    line = re.fullmatch(
        r"interrupted: ([234]) of 4 files pushed; what arrived is kept; "
        r"run the same command again to push the rest\n",
        result.stderr,
    )
    assert line is not None, result.stderr
    assert result.stdout == ""
    kept = int(line[1])
    again = runner.invoke(app, ["data", "push", "four@1"])
    assert again.exit_code == 0
    assert again.stdout.startswith(f"pushed {4 - kept} objects")
    assert f"{kept} were there" in again.stdout


def test_ctrl_c_before_anything_moved(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = files(tmp_path / "src", [10])

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("keel.data.client.scan", interrupted)
    result = runner.invoke(app, ["data", "add", str(src), "-n", "none"])
    assert result.exit_code == 130
    assert result.stderr == (
        "interrupted: nothing was moved yet; no version was created; "
        "run the same command again to finish\n"
    )


def test_a_real_sigint_during_an_upload(home: Path, tmp_path: Path) -> None:
    """The installed command, sent SIGINT by the OS as the second of five files is done:
    one line on standard error, exit status 130, no traceback."""
    store = tmp_path / "store"
    c = Client(str(store), settings=Settings(home=home))
    run_id = c.create_run(c.create_experiment("sigint")).info.run_id
    c.close()
    src = files(tmp_path / "src", [1000] * 5)
    script = (
        "import os, signal, sys\n"
        "from keel.cli import progress\n"
        "done = progress.TransferBar.file_done\n"
        "def file_done(self):\n"
        "    done(self)\n"
        "    if self.files_done == 2:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "progress.TransferBar.file_done = file_done\n"
        "from keel.cli.main import main\n"
        "sys.argv[0] = 'keel'\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", script, "artifacts", "upload", run_id, str(src), "-t", str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == (
        "interrupted: 2 of 5 files uploaded; the files uploaded are in the run; "
        "run the same command again to upload them all\n"
    )
    assert done.stdout == ""

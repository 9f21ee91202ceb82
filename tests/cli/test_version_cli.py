"""``keel --version`` and ``keel version`` name the distribution users install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from keel.cli.main import app
from keel.version import __version__

runner = CliRunner()


def test_version_option_and_command() -> None:
    for argv in (["--version"], ["version"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"keel-mlops {__version__}\n"


def test_the_real_command_prints_the_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keel", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"keel-mlops {__version__}\n", "")

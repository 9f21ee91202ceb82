"""``keel predict``: the command line over ``keel.serving.predict_file``; the row bar is
drawn on a terminal only, and a Ctrl-C says how far scoring got and that nothing was
written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from keel.cli.main import app
from keel.cli.progress import scoring
from serving.batch_support import Registered, registered, table

pq = pytest.importorskip("pyarrow.parquet")

__all__ = ["registered"]  # the fixture, used by name
runner = CliRunner()


@pytest.fixture
def env(registered: Registered, monkeypatch: pytest.MonkeyPatch) -> Registered:
    monkeypatch.setenv("KEEL_HOME", str(registered.settings.home))
    monkeypatch.setenv("KEEL_TRACKING_URI", registered.store)
    return registered


def test_predict_writes_the_output_and_says_what_it_did(env: Registered, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table(130).to_parquet(source)
    out = tmp_path / "out.csv"

    result = runner.invoke(
        app,
        [
            "predict",
            env.uri,
            "--input",
            str(source),
            "--output",
            str(out),
            "--keep",
            "id",
            "--chunk-rows",
            "50",
        ],
    )

    assert result.exit_code == 0, result.output
    assert f"scored 130 rows with churn version 1 into {out}" in result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith('"prediction_id","model_name","model_version","id","prediction"')
    assert len(lines) == 131


def test_predict_json_and_format_option(env: Registered, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    table(20).to_csv(source, index=False)
    out = tmp_path / "scored"

    result = runner.invoke(
        app,
        [
            "predict",
            env.uri,
            "-i",
            str(source),
            "-o",
            str(out),
            "--keep",
            "id",
            "--format",
            "parquet",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "output": str(out),
        "rows": 20,
        "model_uri": env.uri,
        "model_name": "churn",
        "model_version": 1,
    }
    assert pq.read_table(out).num_rows == 20


def test_predict_refuses_bad_options(env: Registered, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table(5).to_parquet(source)
    args = ["predict", env.uri, "-i", str(source), "-o", str(tmp_path / "o.parquet")]

    on = runner.invoke(app, [*args, "--on", "spark"])
    address = runner.invoke(app, [*args, "--ray-address", "auto"])

    assert on.exit_code == 2 and "must be one of local, ray" in on.output
    assert address.exit_code == 2 and "only with --on ray" in address.output
    assert not (tmp_path / "o.parquet").exists()


def test_ctrl_c_says_how_far_scoring_got(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    resume = "nothing was written to 'o.parquet'"
    with (
        pytest.raises(typer.Exit) as exited,
        scoring("scoring", resume=resume, console=console, delay=0) as bar,
    ):
        bar.start(1_000, "scoring")
        bar.advance(400)
        raise KeyboardInterrupt
    assert exited.value.exit_code == 130
    assert capsys.readouterr().err == (
        "interrupted: 400 of 1,000 rows scored; nothing was written to 'o.parquet'\n"
    )

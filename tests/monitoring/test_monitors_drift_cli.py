"""``keel monitors drift`` through the real command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from keel.cli.main import build_app
from monitoring.support import make_table

runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    make_table(3000, seed=1).to_parquet(ref, index=False)
    make_table(3000, shift=0.5, seed=2).to_parquet(cur, index=False)
    return ref, cur


def test_drift_prints_a_table_and_writes_the_report_and_profile(tmp_path: Path) -> None:
    ref, cur = _files(tmp_path)
    html, profile = tmp_path / "report.html", tmp_path / "profile.json"
    app = build_app("monitors")
    args = ["monitors", "drift", str(ref), str(cur), "--html", str(html)]
    result = runner.invoke(app, [*args, "--save-reference", str(profile)])
    assert result.exit_code == 0, result.output
    assert "wasserstein" in result.output and "jensenshannon" in result.output
    assert "Dataset: no drift (3 of 7 columns" in result.output
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(profile.read_text())["format"].startswith("keel.monitoring.reference/")

    again = runner.invoke(
        app, ["monitors", "drift", str(profile), str(cur), "--columns", "age,size", "--json"]
    )
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert [c["column"] for c in data["columns"]] == ["age", "size"]
    assert data["dataset"] == {**data["dataset"], "share": 1.0, "drifted": True}


def test_drift_names_a_missing_file(tmp_path: Path) -> None:
    ref, _ = _files(tmp_path)
    result = runner.invoke(
        build_app("monitors"), ["monitors", "drift", str(ref), str(tmp_path / "no.parquet")]
    )
    assert result.exit_code != 0
    assert "no such Parquet file" in str(result.exception)


def test_drift_lives_beside_the_monitor_commands_in_one_group() -> None:
    app = build_app()
    listed = runner.invoke(app, ["monitors", "--help"])
    assert listed.exit_code == 0, listed.output
    for command in ("drift", "create", "run", "show", "alerts"):
        assert command in listed.output
    assert runner.invoke(app, ["monitoring", "drift", "--help"]).exit_code != 0


def test_tests_and_thresholds_per_column_and_the_notes(tmp_path: Path) -> None:
    ref, _ = _files(tmp_path)
    small = tmp_path / "small.parquet"
    make_table(5, seed=3).to_parquet(small, index=False)
    app = build_app("monitors")
    noisy = runner.invoke(app, ["monitors", "drift", str(ref), str(small), "--columns", "age"])
    assert noisy.exit_code == 0, noisy.output
    assert "Note: the current window has only 5 rows" in noisy.output
    args = ["monitors", "drift", str(ref), str(small), "--columns", "age,size"]
    chosen = runner.invoke(app, [*args, "--test", "age=ks", "--threshold", "size=0.3", "--json"])
    assert chosen.exit_code == 0, chosen.output
    data = json.loads(chosen.output)
    assert [(c["test"], c["threshold"]) for c in data["columns"]] == [
        ("ks", 0.05),
        ("jensenshannon", 0.3),
    ]
    for bad, message in [
        (["--test", "age"], "--test 'age': must be COLUMN=VALUE"),
        (["--threshold", "age=high"], "--threshold age=high: the threshold must be a number"),
        (["--test", "age=foo"], "unknown test 'foo'"),
        (["--save-reference", str(tmp_path / "p.parquet")], "p.parquet: must end in .json"),
        (["--html", str(tmp_path / "no" / "r.html")], f"no such folder {tmp_path / 'no'}"),
    ]:
        refused = runner.invoke(app, [*args, *bad])
        assert refused.exit_code != 0 and message in str(refused.exception), bad


def test_csv_files_are_read_too(tmp_path: Path) -> None:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    make_table(3000, seed=1).to_csv(ref, index=False)
    make_table(3000, shift=0.5, seed=2).to_csv(cur, index=False)
    app = build_app("monitors")
    result = runner.invoke(app, ["monitors", "drift", str(ref), str(cur), "--json"])
    assert result.exit_code == 0, result.output
    from_parquet = runner.invoke(app, ["monitors", "drift", *map(str, _files(tmp_path)), "--json"])
    assert json.loads(result.output)["dataset"] == json.loads(from_parquet.output)["dataset"]
    missing = runner.invoke(app, ["monitors", "drift", str(ref), str(tmp_path / "no.csv")])
    assert "current: no such CSV file" in str(missing.exception)

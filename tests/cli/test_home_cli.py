"""Where the embedded store is: the nearest ``.keel`` folder from the current folder up (as
git finds ``.git``), else ``./.keel``; ``KEEL_HOME`` wins. Commands and the Python API run
from a subfolder of a project see the project's store and make no store of their own."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import keel
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings, find_home

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder with a run logged to its embedded store from its root; the test
    starts in ``project/src/deep``. No KEEL_* settings leak in."""
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    root = tmp_path.resolve() / "project"  # as the current folder reads: no symlinks
    deep = root / "src" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(root)
    with Client() as client:
        experiment_id = client.create_experiment("churn")
        run = client.create_run(experiment_id, run_name="at-the-root")
        client.log_param(run.run_id, "model", "rf")
        client.set_terminated(run.run_id)
    assert (root / ".keel" / "keel.db").is_file()
    monkeypatch.chdir(deep)
    yield root


def new_stores(root: Path) -> list[Path]:
    return [p for p in root.rglob(".keel") if p != root / ".keel"]


def test_a_command_run_from_a_subfolder_uses_the_project_store(project: Path) -> None:
    result = runner.invoke(app, ["runs", "list", "-e", "churn", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert [r["info"]["run_name"] for r in json.loads(result.stdout)["runs"]] == ["at-the-root"]
    assert new_stores(project) == []


def test_the_python_api_from_a_subfolder_uses_the_project_store(project: Path) -> None:
    with Client() as client:
        experiment = client.get_experiment_by_name("churn")
        assert experiment is not None
        runs = client.search_runs([experiment.experiment_id]).runs
        assert [r.info.run_name for r in runs] == ["at-the-root"]
        assert client.tracking_uri == str(project / ".keel")
    keel.set_tracking_uri(None)
    try:
        assert keel.get_tracking_uri() == str(project / ".keel")
    finally:
        keel.set_tracking_uri(None)
    assert new_stores(project) == []


def test_the_home_found_is_absolute_and_stays_put(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({})
    assert settings.home == project / ".keel" and settings.home.is_absolute()
    monkeypatch.chdir(project.parent)
    assert settings.home == project / ".keel"
    assert Settings.from_env({}, cwd=project / "src").home == project / ".keel"


def test_keel_home_set_explicitly_wins(project: Path) -> None:
    explicit = Settings.from_env({"KEEL_HOME": "elsewhere"})
    assert explicit.home == project / "src" / "deep" / "elsewhere"
    assert Settings.from_env({"KEEL_HOME": "../other"}).home == project / "src" / "other"


def test_without_a_store_above_the_home_is_made_here(tmp_path: Path) -> None:
    assert find_home(tmp_path / "a" / "b") == tmp_path / "a" / "b" / ".keel"
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".keel").mkdir()
    assert find_home(tmp_path / "a" / "b") == tmp_path / "a" / ".keel"
    (tmp_path / "a" / "b" / ".keel").write_text("a file, not a store")
    assert find_home(tmp_path / "a" / "b") == tmp_path / "a" / ".keel"

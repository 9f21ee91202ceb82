"""``keel audit``: the whole audit log, filtered, on an embedded store and through a real
``keel server``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import unique
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.errors import InvalidArgument

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))


def audit(uri: str, *args: str) -> Any:
    result = runner.invoke(app, ["audit", *args, "-t", uri])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output) if "--json" in args else result.output


def _history(uri: str, tmp_path: Path) -> tuple[str, str]:
    """An experiment with a run that ends and is deleted, made by ``setup``."""
    settings = Settings(home=tmp_path / "client", spool_dir=tmp_path / "spool", user="setup")
    with Client(uri, settings=settings) as client:
        experiment = client.create_experiment(unique())
        run = client.create_run(experiment).run_id
        client.log_metric(run, "loss", 0.5)  # not audited
        client.set_terminated(run)
        client.flush()
        client.delete_run(run)
    return experiment, run


def test_lists_and_filters_the_log(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    experiment, run = _history(uri, tmp_path)
    found = audit(uri, "--resource-type", "run", "--resource", run, "--json")["records"]
    assert [(r["action"], r["actor"], r["resource_type"]) for r in found] == [
        ("run.create", "setup", "run"),
        ("run.end", "setup", "run"),
        ("run.delete", "setup", "run"),
    ]
    assert [r["action"] for r in audit(uri, "--action", "run.delete", "--json")["records"]] == [
        "run.delete"
    ]
    assert audit(uri, "--actor", "nobody", "--json")["records"] == []
    assert audit(uri, "--since", "4102444800000", "--json")["records"] == []
    assert audit(uri, "--until", "2000-01-01", "--json")["records"] == []
    everything = audit(uri, "--since", "2000-01-01T00:00", "--json")["records"]
    assert {"experiment.create", "run.create", "run.end", "run.delete"} <= {
        r["action"] for r in everything
    }
    first = audit(uri, "--limit", "1", "--json")
    assert len(first["records"]) == 1 and first["next_page_token"]
    table = audit(uri, "--resource-type", "experiment", "--resource", experiment)
    assert "experiment.create" in table and "setup" in table
    assert "more records: --page-token" in audit(uri, "--limit", "1")

    bad = runner.invoke(app, ["audit", "--resource-type", "person", "-t", uri])
    assert bad.exit_code == 1 and isinstance(bad.exception, InvalidArgument)
    assert "resource_type" in str(bad.exception)
    worse = runner.invoke(app, ["audit", "--until", "yesterday", "-t", uri])
    assert isinstance(worse.exception, InvalidArgument) and "--until" in str(worse.exception)


def test_reads_the_log_through_a_server(server: Any, tmp_path: Path) -> None:
    experiment, run = _history(server.url, tmp_path)
    found = audit(server.url, "--resource-type", "run", "--resource", run, "--json")["records"]
    assert [r["action"] for r in found] == ["run.create", "run.end", "run.delete"]
    assert all(r["request_id"] for r in found)  # each came with a server request
    created = audit(
        server.url, "--resource-type", "experiment", "--resource", experiment, "--json"
    )["records"]
    assert [r["action"] for r in created] == ["experiment.create"]

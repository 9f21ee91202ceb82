"""``NAME/latest`` in the model commands (the highest version, as ``models:/NAME/latest``),
and a run-id prefix in a ``runs:/`` source."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from conftest import unique
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.errors import NotFound


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    return str(tmp_path / "store")


def test_show_latest(uri: str, tmp_path: Path) -> None:
    name = unique("churn")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    with Client(uri, settings=Settings(home=tmp_path / "client")) as client:
        run_id = client.create_run(client.create_experiment(unique())).run_id
        logged = client.log_model(run_id, LogisticRegression().fit(x, [0, 1, 0, 1]), onnx=False)
        client.set_terminated(run_id)
        for _ in range(2):
            client.registry.register_model(logged.uri, name)
        client.registry.create_registered_model(f"{name}-empty")
    runner = CliRunner()
    prefix = logged.uri.replace(run_id, run_id[:8])
    registered = runner.invoke(app, ["models", "register", prefix, name, "-t", uri])
    assert registered.exit_code == 0, registered.output
    assert f"registered {name}/3" in registered.stdout
    shown = runner.invoke(app, ["models", "show", f"{name}/latest", "--json", "-t", uri])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["version"] == 3
    assert json.loads(shown.stdout)["source"] == logged.uri
    empty = runner.invoke(app, ["models", "show", f"{name}-empty/latest", "-t", uri])
    assert empty.exit_code == 1 and isinstance(empty.exception, NotFound)

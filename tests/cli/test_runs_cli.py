"""The CLI's habits from git and MLflow: experiments by name, runs by a unique id prefix,
``runs list`` as a tree, ``runs compare`` columns that tell same-named runs apart."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import unique
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.entities import LifecycleStage
from keel.errors import InvalidArgument, NotFound

runner = CliRunner()


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    return str(tmp_path / "store")


@pytest.fixture
def client(uri: str, tmp_path: Path) -> Iterator[Client]:
    c = Client(uri, settings=Settings(home=tmp_path / "client"))
    yield c
    c.close()


def keel(*args: str, uri: str) -> Result:
    return runner.invoke(app, [*args, "-t", uri])


def ok(*args: str, uri: str) -> str:
    result = keel(*args, uri=uri)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def runs_with_ids(client: Client, experiment_id: str, *ids: str) -> None:
    for run_id in ids:
        client.store.create_run(experiment_id, run_id=run_id, run_name=f"r-{run_id[:6]}")


def test_a_unique_prefix_names_a_run(uri: str, client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    a, b = "abcd1" + "0" * 27, "abcd2" + "0" * 27
    runs_with_ids(client, experiment_id, a, b, "ef01" + "0" * 28)

    shown = json.loads(ok("runs", "show", "abcd1", "--json", uri=uri))
    assert shown["info"]["run_id"] == a
    assert json.loads(ok("runs", "show", "EF01", "--json", uri=uri))["info"]["run_id"].startswith(
        "ef01"
    )
    assert ok("runs", "delete", "abcd2", uri=uri).strip() == f"deleted run {b}"
    assert client.get_run(b).info.lifecycle_stage == LifecycleStage.DELETED
    # a deleted run is found too, so it can be restored by its prefix
    assert ok("runs", "restore", "abcd2", uri=uri).strip() == f"restored run {b}"
    listed = json.loads(ok("artifacts", "list", "abcd1", "--json", uri=uri))
    assert listed == []

    ambiguous = keel("runs", "show", "abcd", uri=uri)
    assert ambiguous.exit_code == 1 and isinstance(ambiguous.exception, InvalidArgument)
    message = str(ambiguous.exception)
    assert "ambiguous" in message and a in message and b in message

    short = keel("runs", "show", "abc", uri=uri)
    assert isinstance(short.exception, InvalidArgument)
    assert "at least 4 characters" in str(short.exception)
    missing = keel("runs", "show", "9999", uri=uri)
    assert isinstance(missing.exception, NotFound)
    not_hex = keel("runs", "show", "xyz1", uri=uri)
    assert isinstance(not_hex.exception, InvalidArgument)
    assert "hex" in str(not_hex.exception)


def test_prefixes_through_a_server(server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    with Client(server.url, settings=Settings(home=tmp_path / "client")) as client:
        experiment_id = client.create_experiment(unique())
        run_id = client.create_run(experiment_id, run_name="remote").run_id
        client.set_terminated(run_id)
        client.flush()
    shown = json.loads(ok("runs", "show", run_id[:10], "--json", uri=server.url))
    assert shown["info"]["run_name"] == "remote"


def test_experiments_by_name_or_id(uri: str, client: Client) -> None:
    name = unique()
    experiment_id = client.create_experiment(name)
    ok("experiments", "delete", name, uri=uri)
    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.DELETED
    ok("experiments", "restore", name, uri=uri)
    ok("experiments", "delete", experiment_id, uri=uri)
    ok("experiments", "restore", experiment_id, uri=uri)

    # a name that is another experiment's id is ambiguous
    clash = client.create_experiment(experiment_id)
    result = keel("runs", "list", "-e", experiment_id, uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, InvalidArgument)
    assert "ambiguous" in str(result.exception) and clash in str(result.exception)
    result = keel("runs", "list", "-e", unique("none"), uri=uri)
    assert isinstance(result.exception, NotFound)


def test_runs_list_shows_the_tree(uri: str, client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    parent = client.create_run(experiment_id, run_name="sweep").run_id
    child = client.create_run(experiment_id, run_name="trial-1", parent_run_id=parent).run_id
    client.create_run(experiment_id, run_name="trial-1-a", parent_run_id=child)
    client.create_run(experiment_id, run_name="alone")
    client.flush()

    lines = ok("runs", "list", "-e", experiment_id, uri=uri).splitlines()
    names = [line for line in lines if "trial" in line or "sweep" in line or "alone" in line]
    order = [next(n for n in ("trial-1-a", "trial-1", "sweep", "alone") if n in x) for x in names]
    assert order.index("sweep") + 1 == order.index("trial-1")
    assert order.index("trial-1") + 1 == order.index("trial-1-a")
    assert "│ └ trial-1 " in names[order.index("trial-1")]  # one level in
    assert "│   └ trial-1-a" in names[order.index("trial-1-a")]  # two levels in
    assert not any("└ alone" in line or "└ sweep" in line for line in lines)
    # filtered to the children: tags.mlflow.parentRunId works in the CLI's search too
    found = json.loads(
        ok(
            "runs", "search", f"tags.mlflow.parentRunId = '{parent}'", "-e", experiment_id,
            "--json", uri=uri,
        )
    )  # fmt: skip
    assert [r["info"]["run_name"] for r in found["runs"]] == ["trial-1"]


def test_runs_compare_labels_same_named_runs_apart(uri: str, client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    first = "1234abcd" + "0" * 24
    second = "1234abce" + "0" * 24
    for run_id, lr in ((first, "0.1"), (second, "0.2")):
        client.store.create_run(experiment_id, run_id=run_id, run_name="train")
        client.log_param(run_id, "lr", lr)
    client.flush()
    table = ok("runs", "compare", "1234abcd", "1234abce", uri=uri)
    assert "train (1234abcd)" in table and "train (1234abce)" in table
    compared = json.loads(ok("runs", "compare", "1234abcd", "1234abce", "--json", uri=uri))
    assert compared["run_ids"] == [first, second]
    assert compared["labels"] == ["train (1234abcd)", "train (1234abce)"]
    same_start = "1234abcd" + "1" * 24
    client.store.create_run(experiment_id, run_id=same_start, run_name="train")
    table = ok("runs", "compare", first, same_start, uri=uri)
    assert "train (1234abcd0000)" in table and "train (1234abcd1111)" in table

"""The ``keel`` command: through typer's ``CliRunner`` (exit code and output), and a few
real invocations of the installed command for what only a process shows (one-line errors
on stderr, ``--debug`` tracebacks, the entry point itself)."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import unique
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.entities import LifecycleStage, RunStatus
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from keel.store.sql.migrate import HEAD_REVISION

runner = CliRunner()


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh embedded store (a folder) for the test; no KEEL_* settings leak in."""
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    return str(tmp_path / "store")


@pytest.fixture
def client(uri: str, tmp_path: Path) -> Iterator[Client]:
    """A client on the test's store, to set up and check what commands see (this replaces
    the suite-wide ``client`` fixture: the command line is tested on the embedded store)."""
    c = Client(uri, settings=Settings(home=tmp_path / "client"))
    yield c
    c.close()


def keel(*args: str, uri: str | None = None) -> Result:
    argv = [*args, "-t", uri] if uri else list(args)
    return runner.invoke(app, argv)


def ok(*args: str, uri: str) -> str:
    result = keel(*args, uri=uri)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def make_runs(client: Client) -> tuple[str, dict[str, str]]:
    """An experiment with three finished runs: rf/0.7, rf/0.9, svm/0.95."""
    experiment_id = client.create_experiment(unique())
    made = {}
    for name, model, acc in (("alpha", "rf", 0.7), ("beta", "rf", 0.9), ("gamma", "svm", 0.95)):
        run_id = client.create_run(experiment_id, run_name=name).run_id
        client.log_param(run_id, "model", model)
        client.log_metric(run_id, "acc", acc)
        client.set_terminated(run_id)
        made[name] = run_id
    client.flush()
    return experiment_id, made


# experiments -------------------------------------------------------------------------------


def test_experiments_create_and_list(uri: str) -> None:
    name = unique()
    assert f"created experiment {name!r}" in ok("experiments", "create", name, uri=uri)
    created = json.loads(
        ok("experiments", "create", name + "-2", "--tag", "team=vision", "--json", uri=uri)
    )
    assert created["name"] == name + "-2"

    table = ok("experiments", "list", uri=uri)
    assert name in table and name + "-2" in table
    listed = json.loads(ok("experiments", "list", "--json", uri=uri))
    by_name = {e["name"]: e for e in listed}
    assert {name, name + "-2"} <= set(by_name)
    assert by_name[name + "-2"]["experiment_id"] == created["experiment_id"]
    assert by_name[name + "-2"]["tags"] == {"team": "vision"}


def test_experiments_delete_and_restore(uri: str) -> None:
    created = json.loads(ok("experiments", "create", "doomed", "--json", uri=uri))
    experiment_id = created["experiment_id"]
    assert ok("experiments", "delete", experiment_id, uri=uri).strip() == (
        f"deleted experiment {experiment_id}"
    )
    assert "doomed" not in ok("experiments", "list", uri=uri)
    deleted = json.loads(ok("experiments", "list", "--view", "deleted", "--json", uri=uri))
    assert [e["name"] for e in deleted] == ["doomed"]
    ok("experiments", "restore", experiment_id, uri=uri)
    assert "doomed" in ok("experiments", "list", uri=uri)


def test_experiment_errors_are_raised_as_keel_errors(uri: str) -> None:
    ok("experiments", "create", "taken", uri=uri)
    result = keel("experiments", "create", "taken", uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, AlreadyExists)
    result = keel("experiments", "create", "x", "--tag", "novalue", uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, InvalidArgument)


# runs --------------------------------------------------------------------------------------


def test_runs_list_and_search(uri: str, client: Client) -> None:
    experiment_id, made = make_runs(client)
    name = client.get_experiment(experiment_id).name

    table = ok("runs", "list", "-e", experiment_id, uri=uri)
    for run_name, run_id in made.items():
        assert run_name in table and run_id in table
    assert "FINISHED" in table and "acc" in table
    listed = json.loads(ok("runs", "list", "-e", name, "--json", uri=uri))
    assert {r["info"]["run_id"] for r in listed["runs"]} == set(made.values())
    assert listed["next_page_token"] is None

    search = ("runs", "search", "metrics.acc > 0.8", "-e", name, "-o", "metrics.acc DESC")
    found = json.loads(ok(*search, "--json", uri=uri))
    assert [r["info"]["run_name"] for r in found["runs"]] == ["gamma", "beta"]
    table = ok("runs", "search", "params.model = 'rf'", "-e", experiment_id, uri=uri)
    assert "alpha" in table and "beta" in table and "gamma" not in table

    paged = ok("runs", "search", "-e", experiment_id, "-n", "1", uri=uri)
    assert "more results: --page-token" in paged


def test_runs_show(uri: str, client: Client) -> None:
    _, made = make_runs(client)
    client.set_tag(made["beta"], "stage", "dev")
    client.flush()
    table = ok("runs", "show", made["beta"], uri=uri)
    for text in (made["beta"], "beta", "FINISHED", "params", "model", "rf", "acc", "0.9", "dev"):
        assert text in table
    shown = json.loads(ok("runs", "show", made["beta"], "--json", uri=uri))
    assert shown["info"]["run_id"] == made["beta"]
    assert shown["data"]["params"] == {"model": "rf"}


def test_runs_compare(uri: str, client: Client) -> None:
    _, made = make_runs(client)
    table = ok("runs", "compare", made["alpha"], made["gamma"], uri=uri)
    assert "alpha" in table and "gamma" in table
    assert "* params.model" in table and "svm" in table
    compared = json.loads(ok("runs", "compare", made["alpha"], made["beta"], "--json", uri=uri))
    assert compared["run_ids"] == [made["alpha"], made["beta"]]
    rows = {row[0]: row[1:] for row in compared["rows"]}
    # Keys whose values differ are starred and listed first.
    assert compared["rows"][0][0] == "* metrics.acc"
    assert rows["* metrics.acc"] == ["0.7", "0.9"]
    assert rows["  params.model"] == ["rf", "rf"]


def test_runs_delete_and_restore(uri: str, client: Client) -> None:
    experiment_id, made = make_runs(client)
    run_id = made["alpha"]
    assert ok("runs", "delete", run_id, uri=uri).strip() == f"deleted run {run_id}"
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert "alpha" not in ok("runs", "list", "-e", experiment_id, uri=uri)
    assert "alpha" in ok("runs", "list", "-e", experiment_id, "--view", "deleted", uri=uri)
    assert ok("runs", "restore", run_id, uri=uri).strip() == f"restored run {run_id}"
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_runs_reap(uri: str, client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    lost = client.create_run(experiment_id, run_name="lost").run_id
    assert ok("runs", "reap", "--silent-for", "60", uri=uri).strip() == (
        "marked 0 lost run(s) KILLED"
    )
    time.sleep(0.2)
    out = ok("runs", "reap", "--silent-for", "0.1", uri=uri)
    assert out.strip() == f"marked 1 lost run(s) KILLED: {lost}"
    run = client.get_run(lost)
    assert run.info.status is RunStatus.KILLED
    assert run.data.tags["keel.lost"] == "true"


def test_runs_need_an_experiment(uri: str) -> None:
    result = keel("runs", "list", uri=uri)
    assert result.exit_code == 2  # a usage error, reported by click
    result = keel("runs", "list", "-e", "no-such-experiment", uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, NotFound)


# artifacts ---------------------------------------------------------------------------------


def test_artifacts_upload_list_and_download(uri: str, client: Client, tmp_path: Path) -> None:
    run_id = client.create_run(client.create_experiment(unique())).run_id
    folder = tmp_path / "model"
    (folder / "weights").mkdir(parents=True)
    (folder / "config.json").write_text('{"layers": 2}')
    (folder / "weights" / "w.bin").write_bytes(os.urandom(100_000))
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on v2")

    assert "uploaded 2 file(s)" in ok(
        "artifacts", "upload", run_id, str(folder), "-p", "model", uri=uri
    )
    assert "uploaded 1 file(s), 13 bytes" in ok("artifacts", "upload", run_id, str(notes), uri=uri)

    table = ok("artifacts", "list", run_id, uri=uri)
    assert "model/" in table and "notes.txt" in table
    listed = json.loads(ok("artifacts", "list", run_id, "model/weights", "--json", uri=uri))
    assert [(f["path"], f["file_size"]) for f in listed] == [("model/weights/w.bin", 100_000)]

    out = ok("artifacts", "download", run_id, "model", "-o", str(tmp_path / "dl"), uri=uri)
    assert "downloaded 2 file(s)" in out
    got = tmp_path / "dl" / "model"
    compared = filecmp.dircmp(folder, got)
    assert not (compared.left_only or compared.right_only or compared.diff_files)
    assert filecmp.cmp(folder / "weights" / "w.bin", got / "weights" / "w.bin", shallow=False)

    ok("artifacts", "download", run_id, "notes.txt", "-o", str(tmp_path / "one"), uri=uri)
    assert (tmp_path / "one" / "notes.txt").read_text() == "trained on v2"

    result = keel("artifacts", "download", run_id, "missing", "-o", str(tmp_path), uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, NotFound)


# db ----------------------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(tmp_path: Path, uri: str) -> None:
    database = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = ok("db", "upgrade", uri=database)
    assert first.strip() == f"schema upgraded from empty to {HEAD_REVISION}"
    again = ok("db", "upgrade", uri=database)
    assert again.strip() == f"schema already at revision {HEAD_REVISION}"
    # The upgraded database is usable as a store.
    assert "created experiment" in ok("experiments", "create", "e", uri=database)


def test_db_upgrade_refuses_a_server(uri: str) -> None:
    result = keel("db", "upgrade", uri="http://127.0.0.1:9")
    assert result.exit_code == 1 and isinstance(result.exception, InvalidArgument)


def test_tracking_uri_from_the_environment(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_TRACKING_URI", uri)
    result = runner.invoke(app, ["experiments", "create", "from-env"])
    assert result.exit_code == 0, result.output
    assert "from-env" in ok("experiments", "list", uri=uri)


# the real command --------------------------------------------------------------------------


def run_keel(args: Sequence[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    installed = Path(sys.executable).with_name("keel")
    command = [str(installed)] if installed.exists() else [sys.executable, "-m", "keel"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [*command, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_the_installed_command_runs(uri: str, tmp_path: Path) -> None:
    done = run_keel(["experiments", "create", "real", "--json", "-t", uri], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "real"
    done = subprocess.run(
        [sys.executable, "-m", "keel", "experiments", "list", "--json", "-t", uri],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert [e["name"] for e in json.loads(done.stdout)] == ["real"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "show", "0" * 32], "error: run 00000000000000000000000000000000: no such run"),
        (
            ["runs", "search", "metrics.acc >>> 1", "-e", "0"],
            "error: filter: expected a number or a quoted string at position 14",
        ),
        (["experiments", "create", "x", "--tag", "novalue"], "error: --tag 'novalue'"),
        (
            ["runs", "show", "0" * 32, "-t", "http://127.0.0.1:9"],
            "error: keel server at http://127.0.0.1:9: unreachable",
        ),
    ],
    ids=["unknown-run", "bad-filter", "bad-tag", "server-down"],
)
def test_errors_are_one_line_on_stderr(
    args: list[str], message: str, uri: str, tmp_path: Path
) -> None:
    if "-t" not in args:
        args = [*args, "-t", uri]
    done = run_keel(args, tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(message)
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(uri: str, tmp_path: Path) -> None:
    done = run_keel(["--debug", "runs", "show", "0" * 32, "-t", uri], tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "keel.errors.NotFound" in done.stderr
    assert not done.stderr.startswith("error:")


def test_no_arguments_prints_help(tmp_path: Path) -> None:
    done = run_keel([], tmp_path)
    assert "experiments" in done.stdout + done.stderr
    assert "runs" in done.stdout + done.stderr

"""End to end on an embedded store: a script in a git repository trains a model on a
versioned dataset and registers it, a batch of its predictions goes to the log, then
``keel predictions list|export|feedback`` and ``keel lineage`` read them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from conftest import ServerProcess
from keel.cli.main import build_app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

TRAIN = """
import json, sys, time
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
import keel
from keel.predictions.ids import new_prediction_ids
from keel.predictions.records import PredictionBatch
from keel.predictions.writer import open_prediction_log

rng = np.random.default_rng(0)
frame = pd.DataFrame({"amount": rng.random(200) * 100, "age": rng.integers(18, 90, 200)})
label = (frame["amount"] > 50).astype(int)
keel.set_experiment("fraud")
with keel.start_run(run_name="train") as run:
    keel.log_dataset(frame.assign(label=label), name="transactions")
    model = LogisticRegression().fit(frame, label)
    keel.sklearn.log_model(model, "model", registered_model_name="fraud")

# A batch of its predictions, logged as a model server logs them.
client = keel.Client()
rows = frame.head(6)
now = time.time_ns() // 1_000_000
batch = PredictionBatch(
    deployment="fraud-api", model_name="fraud", model_version=1,
    ids=new_prediction_ids(len(rows), now),
    inputs={"amount": rows["amount"].to_numpy(), "age": rows["age"].to_numpy()},
    predictions=model.predict(rows), time_ms=now, latency_ms=0.8,
    scores=model.predict_proba(rows), score_labels=["0", "1"],
)
log = open_prediction_log(client.backend, client.settings)
log.record(batch)
log.close(30)
client.close()
print(json.dumps({"run_id": run.info.run_id, "ids": list(batch.ids)}))
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def cli(*args: str, env: dict[str, str]) -> str:
    group = args[0]
    result = runner.invoke(build_app(group), list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict]:
    repo = tmp_path_factory.mktemp("project")
    (repo / "train.py").write_text(TRAIN)
    git(repo, "init", "-q")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "train")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_HOME"] = str(repo / ".keel")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "train.py"], cwd=repo, env=env, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    made = json.loads(done.stdout.strip().splitlines()[-1])
    made["commit"] = git(repo, "rev-parse", "HEAD")
    cli_env = {"KEEL_HOME": str(repo / ".keel"), "KEEL_TRACKING_URI": ""}
    return repo, cli_env, made


def test_list_shows_the_newest_predictions(trained: tuple[Path, dict[str, str], dict]) -> None:
    _, env, made = trained
    rows = json.loads(
        cli("predictions", "list", "-d", "fraud-api", "--since", "1h", "--json", env=env)
    )
    assert [r["prediction_id"] for r in rows] == made["ids"][::-1][:20]
    assert rows[0]["model_name"] == "fraud" and rows[0]["model_version"] == 1
    assert {"input.amount", "input.age", "score.0", "score.1"} <= set(rows[0])
    two = json.loads(cli("predictions", "list", "-d", "fraud-api", "-n", "2", "--json", env=env))
    assert [r["prediction_id"] for r in two] == made["ids"][::-1][:2]
    table = cli("predictions", "list", "-d", "fraud-api", env=env)
    assert made["ids"][0] in table and "fraud/1" in table
    none = json.loads(
        cli("predictions", "list", "-d", "fraud-api", "--until", "2000-01-01", "--json", env=env)
    )
    assert none == []
    empty = cli("predictions", "list", "-d", "fraud-api", "--until", "2000-01-01", env=env)
    assert "no predictions of 'fraud-api' until 2000-01-01" in empty


def test_feedback_then_export_with_labels(trained: tuple[Path, dict[str, str], dict]) -> None:
    repo, env, made = trained
    first, second = made["ids"][0], made["ids"][1]
    out = cli("predictions", "feedback", "-d", "fraud-api", f"{first}=1", f"{second}=0", env=env)
    assert "logged 2 labels" in out
    cli("predictions", "feedback", "-d", "fraud-api", f"{second}=1", env=env)  # corrected later
    target = repo / "out" / "log.parquet"
    cli("predictions", "export", "-d", "fraud-api", "-o", str(target), "--with-feedback", env=env)
    exported = pl.read_parquet(target)
    assert exported["prediction_id"].to_list() == made["ids"]
    labels = dict(zip(exported["prediction_id"], exported["label"], strict=True))
    assert labels[first] == 1.0 and labels[second] == 1.0 and labels[made["ids"][2]] is None
    csv = repo / "out" / "log.csv"
    cli("predictions", "export", "-d", "fraud-api", "-o", str(csv), env=env)
    assert pl.read_csv(csv).height == len(made["ids"])
    bad = runner.invoke(
        build_app("predictions"),
        ["predictions", "export", "-d", "fraud-api", "-o", str(repo / "x.json")],
        env=env,
    )
    assert bad.exit_code != 0 and "must end in .parquet or .csv" in str(bad.exception)


def test_lineage_leads_to_the_run_its_data_and_the_commit(
    trained: tuple[Path, dict[str, str], dict],
) -> None:
    _, env, made = trained
    pid = made["ids"][3]
    found = json.loads(cli("lineage", pid, "--json", env=env))
    assert found["prediction"]["prediction_id"] == pid
    assert found["deployment"] == "fraud-api"
    assert found["model_version"]["uri"] == "models:/fraud/1"
    assert found["run"]["run_id"] == made["run_id"] == found["model_version"]["run_id"]
    assert [(d["name"], d["version"], d["context"]) for d in found["datasets"]] == [
        ("transactions", 1, "training")
    ]
    assert found["datasets"][0]["digest"]
    assert found["code"]["commit"] == made["commit"]
    assert found["gaps"] == []
    text = cli("lineage", pid, env=env)
    for part in (pid, "fraud-api", "models:/fraud/1", made["run_id"], "datasets:/transactions@1",
                 made["commit"]):  # fmt: skip
        assert part in text


def test_lineage_of_an_unknown_or_malformed_id_says_so(
    trained: tuple[Path, dict[str, str], dict],
) -> None:
    _, env, _ = trained
    for given, message in (("0" * 32, "not in the prediction log"), ("xyz", "32 lowercase hex")):
        result = runner.invoke(build_app("lineage"), ["lineage", given], env=env)
        assert result.exit_code != 0
        assert message in str(result.exception)


def test_the_same_through_a_keel_server(trained: tuple[Path, dict[str, str], dict]) -> None:
    repo, _, made = trained
    home = repo / ".keel"
    server = ServerProcess(f"sqlite:///{home / 'keel.db'}", home / "artifacts", repo / "srv.log")
    server.start()
    try:
        env = {"KEEL_HOME": str(repo / "elsewhere"), "KEEL_TRACKING_URI": server.url}
        pid = made["ids"][4]
        found = json.loads(cli("lineage", pid, "--json", env=env))
        assert found["run"]["run_id"] == made["run_id"]
        assert found["code"]["commit"] == made["commit"]
        assert found["datasets"][0]["uri"] == "datasets:/transactions@1"
        route = httpx.get(f"{server.url}/api/v1/predictions/{pid}/lineage")
        assert route.status_code == 200
        assert route.json() == found
        rows = json.loads(cli("predictions", "list", "-d", "fraud-api", "--json", env=env))
        assert [r["prediction_id"] for r in rows] == made["ids"][::-1]
        missing = httpx.get(f"{server.url}/api/v1/predictions/{'0' * 32}/lineage")
        assert missing.status_code == 404
        assert httpx.get(f"{server.url}/api/v1/predictions/xyz/lineage").status_code == 400
    finally:
        server.stop()


def test_a_bad_time_names_the_option_and_the_forms_it_takes(
    trained: tuple[Path, dict[str, str], dict],
) -> None:
    _, env, _ = trained
    result = runner.invoke(
        build_app("predictions"),
        ["predictions", "list", "-d", "fraud-api", "--since", "yesterday"],
        env=env,
    )
    assert result.exit_code != 0
    assert "--since 'yesterday': must be a duration back from now" in str(result.exception)

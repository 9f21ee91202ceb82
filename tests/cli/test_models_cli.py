"""``keel models``: the registry through the command line, on an embedded store, acting as
different users through ``KEEL_USER``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import keel
from conftest import unique
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.errors import Conflict, CorruptData, Forbidden, InvalidArgument

runner = CliRunner()


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEL_USER", "alice")
    return str(tmp_path / "store")


@pytest.fixture
def client(uri: str, tmp_path: Path) -> Iterator[Client]:
    c = Client(uri, settings=Settings(home=tmp_path / "client", user="setup"))
    yield c
    c.close()


@pytest.fixture
def source(client: Client) -> str:
    """``runs:/...`` of a tiny logistic regression logged to a finished run."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    run_id = client.create_run(client.create_experiment(unique())).run_id
    logged = client.log_model(run_id, model)
    client.set_terminated(run_id)
    client.flush()
    return logged.uri


def keel_as(user: str, *args: str, uri: str) -> Result:
    return runner.invoke(app, [*args, "-t", uri], env={"KEEL_USER": user})


def ok(*args: str, uri: str, user: str = "alice", expect: int = 0) -> str:
    result = keel_as(user, *args, uri=uri)
    assert result.exit_code == expect, (result.output, result.exception)
    return result.stdout


def register(source: str, name: str, uri: str) -> None:
    out = ok("models", "register", source, name, "--tag", "team=risk", uri=uri)
    assert f"registered {name}/1 (PENDING_REVIEW, blake3:" in out


def test_register_list_and_show(uri: str, source: str) -> None:
    name = unique("fraud")
    register(source, name, uri)
    listed = json.loads(ok("models", "list", "--name-like", "fraud%", "--json", uri=uri))
    assert [(m["name"], m["latest_version"]) for m in listed["models"]] == [(name, 1)]
    assert name in ok("models", "list", uri=uri)

    model = json.loads(ok("models", "show", name, "--json", uri=uri))
    assert [v["version"] for v in model["versions"]] == [1]
    version = json.loads(ok("models", "show", f"{name}/1", "--json", uri=uri))
    assert version["source"] == source and version["tags"] == {"team": "risk"}
    assert version["created_by"] == "alice" and version["checks"] == []
    assert "content hash" in ok("models", "show", f"{name}/1", uri=uri)
    assert "versions" in ok("models", "show", name, uri=uri)


def test_aliases_policies_and_checks(uri: str, source: str) -> None:
    name = unique("fraud")
    register(source, name, uri)
    ok("models", "alias", "set", name, "staging", "1", uri=uri)
    ok("models", "alias", "policy", name, "champion", "--require", "eval", uri=uri)
    listed = json.loads(ok("models", "alias", "list", name, "--json", uri=uri))
    assert listed["aliases"] == {"staging": 1}
    assert listed["policies"] == [{"name": name, "alias": "champion", "required_checks": ["eval"]}]

    refused = keel_as("alice", "models", "alias", "set", name, "champion", "1", uri=uri)
    assert refused.exit_code == 1 and isinstance(refused.exception, Forbidden)
    assert "request a promotion" in str(refused.exception)
    out = ok("models", "promote", "request", name, "1", "--to", "champion", uri=uri)
    request_id = out.split()[3].rstrip(":")
    early = keel_as("bob", "models", "promote", "approve", request_id, uri=uri)
    assert early.exit_code == 1 and isinstance(early.exception, Conflict)
    assert "eval (missing)" in str(early.exception)

    details = '{"auc": 0.93}'
    ok("models", "check", name, "1", "eval", "--passed", "--details", details, uri=uri)
    refused = keel_as("alice", "models", "alias", "set", name, "champion", "1", uri=uri)
    assert isinstance(refused.exception, Forbidden)  # a passed check is not a review
    ok("models", "promote", "approve", request_id, uri=uri, user="bob")
    assert json.loads(ok("models", "show", f"{name}@champion", "--json", uri=uri))["checks"][0][
        "details"
    ] == {"auc": 0.93}
    table = ok("models", "alias", "list", name, uri=uri)
    assert "champion" in table and "eval" in table

    ok("models", "alias", "delete", name, "staging", uri=uri)
    ok("models", "alias", "policy", name, "champion", uri=uri)  # no --require: cleared
    listed = json.loads(ok("models", "alias", "list", name, "--json", uri=uri))
    assert listed["aliases"] == {"champion": 1}

    bad = keel_as(
        "alice", "models", "check", name, "1", "eval", "--failed", "--details", "{", uri=uri
    )
    assert bad.exit_code == 1 and isinstance(bad.exception, InvalidArgument)


def test_promotion_needs_a_second_user_and_is_audited(uri: str, source: str) -> None:
    name = unique("fraud")
    register(source, name, uri)
    out = ok("models", "promote", "request", name, "1", "--to", "champion", uri=uri)
    request_id = out.split()[3].rstrip(":")
    assert out.startswith(f"opened promotion request {request_id}")

    own = keel_as("alice", "models", "promote", "approve", request_id, uri=uri)
    assert own.exit_code == 1 and isinstance(own.exception, Forbidden)
    ok("models", "promote", "approve", request_id, "-m", "looks good", uri=uri, user="bob")

    requests = json.loads(ok("models", "promote", "list", name, "--json", uri=uri))
    assert [(r["state"], r["reviewer"]) for r in requests] == [("APPROVED", "bob")]
    assert json.loads(ok("models", "show", f"{name}@champion", "--json", uri=uri))["status"] == (
        "APPROVED"
    )

    second = ok("models", "promote", "request", name, "1", "--to", "staging", uri=uri)
    ok("models", "promote", "cancel", second.split()[3].rstrip(":"), uri=uri)
    assert ok("models", "promote", "list", "--state", "OPEN", "--json", uri=uri) == "[]\n"

    trail = json.loads(ok("models", "audit", name, "--json", uri=uri))["records"]
    actions = [r["action"] for r in trail]
    assert actions[:2] == ["model.create", "version.create"]
    assert {"promotion.request", "promotion.approve", "alias.set", "promotion.cancel"} <= set(
        actions
    )
    by_bob = json.loads(ok("models", "audit", "--actor", "bob", "--json", uri=uri))["records"]
    assert by_bob and {r["actor"] for r in by_bob} == {"bob"}
    assert "promotion.approve" in ok("models", "audit", name, "--since", "2000-01-01", uri=uri)
    future = json.loads(ok("models", "audit", "--since", "4102444800000", "--json", uri=uri))
    assert future["records"] == []


def test_download_writes_a_loadable_package(uri: str, source: str, tmp_path: Path) -> None:
    name = unique("fraud")
    register(source, name, uri)
    ok("models", "alias", "set", name, "champion", "1", uri=uri)
    out_dir = tmp_path / "pkg"
    assert "downloaded" in ok("models", "download", f"{name}@champion", "-o", str(out_dir), uri=uri)
    import numpy as np

    loaded = keel.models.load_model(out_dir, trust=True)
    assert list(loaded.predict(np.array([[0.0, 1.0], [1.0, 0.0]]))) == [0, 1]

    again = keel_as("alice", "models", "download", f"{name}/1", "-o", str(out_dir), uri=uri)
    assert again.exit_code == 1  # the folder is not empty


def test_download_refuses_a_package_changed_since_registration(
    uri: str, source: str, client: Client, tmp_path: Path
) -> None:
    name = unique("fraud")
    register(source, name, uri)
    run_id = source.split("/")[1]
    with pytest.raises(Conflict, match="immutable"):  # the run ended: no overwrite
        client.log_text(run_id, '{"tampered": true}', "model/keel-model.json")
    # Changed behind Keel's back, in storage: the download still refuses it.
    stored = Path(client.get_run(run_id).info.artifact_uri) / "model" / "keel-model.json"
    stored.write_text('{"tampered": true}')
    result = keel_as("alice", "models", "download", f"{name}/1", "-o", str(tmp_path / "x"), uri=uri)
    assert result.exit_code == 1 and isinstance(result.exception, CorruptData)
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keel-model-")]


def test_validate_and_card(uri: str, source: str, tmp_path: Path) -> None:
    name = unique("fraud")
    register(source, name, uri)
    held_out = tmp_path / "held_out.csv"
    held_out.write_text("x0,x1,y\n0.0,1.0,0\n1.0,0.0,1\n0.2,0.8,0\n0.8,0.1,1\n")
    # No champion yet: checks run against absolute expectations only, and are recorded.
    out = ok(
        "models", "validate", f"{name}/1", "--data", str(held_out), "--target", "y",
        "--metric", "accuracy=0", uri=uri,
    )  # fmt: skip
    assert "validation" in out and "passed" in out
    report = json.loads(
        ok("models", "validate", f"{name}/1", "--data", str(held_out), "--target", "y",
           "--max-latency-ms", "0.000001", "--json", uri=uri, expect=1)
    )  # fmt: skip
    assert report["passed"] is False
    checks = json.loads(ok("models", "show", f"{name}/1", "--json", uri=uri))["checks"]
    assert {c["check"] for c in checks} >= {"integrity", "signature", "latency", "validation"}

    card = tmp_path / "card.html"
    assert "wrote" in ok("models", "card", f"{name}/1", "--html", "-o", str(card), uri=uri)
    assert card.read_text().lstrip().lower().startswith("<!doctype html")
    assert name in ok("models", "card", f"{name}/1", uri=uri)

"""``keel deployments``: each command through the real command line (Typer's runner), on
a SQLite file and through a real ``keel server``; errors are one line and exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from deployments.conftest import Models
from keel.cli.deployments import parse_weights
from keel.cli.main import build_app
from keel.client import Client
from keel.errors import InvalidArgument

runner = CliRunner()
pytestmark = pytest.mark.parametrize("store_uri", ["sqlite", "rest"], indirect=True)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("KEEL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("KEEL_USER", "dora")


def keel(uri: str, *args: str) -> Result:
    return runner.invoke(build_app("deployments"), ["deployments", *args, "-t", uri])


def ok(uri: str, *args: str) -> str:
    result = keel(uri, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_the_lifecycle(store_uri: str, client: Client, models: Models, name: str) -> None:
    one, two, three = models.uri("champion"), models.uri(2), models.uri(3)
    out = ok(store_uri, "create", name, "--model", one, "--description", "fraud scoring")
    assert out.strip() == f"{name} revision 1: {one} 100%"
    out = ok(store_uri, "set-traffic", name, f"{one}=90", f"{two}=10", "--shadow", three,
             "--expected-revision", "1")  # fmt: skip
    assert out.strip() == f"{name} revision 2: {one} 90%, {two} 10% (shadow: {three})"
    shown = ok(store_uri, "show", name)
    assert "revision 2" in shown and "fraud scoring" in shown
    for role, uri, weight, version in (("live", one, "90%", 1), ("live", two, "10%", 2),
                                       ("shadow", three, "0%", 3)):  # fmt: skip
        assert any(
            line.split("│")[1:5]
            and [c.strip() for c in line.split("│")[1:5]] == [role, uri, weight, str(version)]
            for line in shown.splitlines()
        ), shown
    shown_json = json.loads(ok(store_uri, "show", name, "--json"))
    assert shown_json["resolved"] == {one: 1, two: 2, three: 3}
    assert shown_json["revision"] == 2
    out = ok(store_uri, "promote", name, "--json")
    promoted = json.loads(out)
    assert promoted["revision"] == 3
    assert [t["model_uri"] for t in promoted["policy"]["targets"]] == [two, three]
    assert ok(store_uri, "rollback", name).strip().startswith(f"{name} revision 4: {one} 90%")
    listed = json.loads(ok(store_uri, "list", "--json"))["deployments"]
    assert [d["revision"] for d in listed if d["name"] == name] == [4]
    assert name in ok(store_uri, "list")
    history = json.loads(ok(store_uri, "history", name, "--json"))["revisions"]
    assert [(r["revision"], r["action"], r["actor"]) for r in history] == [
        (4, "rollback", "dora"),
        (3, "promote", "dora"),
        (2, "traffic", "dora"),
        (1, "create", "dora"),
    ]
    table = ok(store_uri, "history", name)
    assert "rollback" in table and "promote" in table
    assert ok(store_uri, "delete", name).strip() == f"deleted deployment {name}"
    assert keel(store_uri, "show", name).exit_code == 1


def test_create_with_a_canary_and_options(
    store_uri: str, client: Client, models: Models, name: str
) -> None:
    out = ok(store_uri, "create", name, "--model", models.uri(1), "--canary", models.uri(2),
             "--weight", "10", "--sticky-key", "X-User", "--sampling", "0.1", "--json")  # fmt: skip
    made = json.loads(out)
    assert made["policy"] == {
        "targets": [
            {"model_uri": models.uri(1), "weight": 90, "shadow": False},
            {"model_uri": models.uri(2), "weight": 10, "shadow": False},
        ],
        "sticky_key": "X-User",
        "sampling": 0.1,
    }
    # set-traffic keeps the sticky key and sampling unless given
    ok(store_uri, "set-traffic", name, f"{models.uri(1)}=50", f"{models.uri(2)}=50")
    policy = client.deployments.get(name).policy
    assert (policy.sticky_key, policy.sampling) == ("X-User", 0.1)


def test_bad_input_fails_with_one_message(
    store_uri: str, client: Client, models: Models, name: str
) -> None:
    ok(store_uri, "create", name, "--model", models.uri(1))
    cases = [
        (("create", "Bad_Name", "--model", models.uri(1)), "lowercase letters"),
        (("create", "x-" + name, "--model", models.uri(1), "--canary", models.uri(2)),
         "--canary and --weight: give both"),
        (("create", "y-" + name, "--model", models.uri(1), "--canary", models.uri(2),
          "--weight", "100"), "must be 1 to 99"),
        (("create", "z-" + name, "--model", models.uri("nope")), f"{models.uri('nope')}: "),
        (("set-traffic", name, f"{models.uri(1)}=90"), "must add up to 100, got 90"),
        (("set-traffic", name, models.uri(1)), "must be URI=PERCENT"),
        (("set-traffic", name, f"{models.uri(2)}=100", "--expected-revision", "7"),
         "expected revision 7, but it is at revision 1"),
        (("promote", name), "takes all live traffic already"),
        (("rollback", name), "no earlier policy"),
        (("history", "missing-" + name), "no such deployment"),
    ]  # fmt: skip
    for args, message in cases:
        result = keel(store_uri, *args)
        assert result.exit_code != 0, (args, result.output)
        assert isinstance(result.exception, Exception)
        assert message in str(result.exception), (args, result.exception)
    assert client.deployments.get(name).revision == 1


def test_parse_weights(store_uri: str) -> None:
    assert parse_weights(["models:/a@b=90", "models:/a/2=10"]) == {
        "models:/a@b": 90,
        "models:/a/2": 10,
    }
    for bad in (["models:/a/1"], ["models:/a/1=ten"], ["=5"], ["models:/a/1=-5"]):
        with pytest.raises(InvalidArgument, match="must be URI=PERCENT"):
            parse_weights(bad)
    with pytest.raises(InvalidArgument, match="given twice"):
        parse_weights(["models:/a/1=50", "models:/a/1=50"])

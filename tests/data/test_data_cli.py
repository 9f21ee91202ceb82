"""``keel data`` through typer's runner on an embedded store, and the dataset routes of a
real ``keel server`` over the same kind of database."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import ServerProcess
from data.support import write_files
from keel.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEL_USER", "carol")
    return tmp_path


def keel(*args: str) -> tuple[int, str]:
    """Exit code, and the output or the error (errors reach ``main``, which prints them)."""
    result = runner.invoke(app, list(args))
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        return 1, str(error)
    return result.exit_code, result.output


def test_add_status_get_diff_log_show(env: Path) -> None:
    src = write_files(env / "src", {"a.txt": "alpha", "b/c.txt": "gamma"})
    code, out = keel("data", "add", str(src), "--name", "docs")
    assert code == 0 and "added datasets:/docs@1 (folder, 2 files" in out
    code, out = keel("data", "add", str(src), "--name", "docs")
    assert code == 0 and out.startswith("unchanged: datasets:/docs@1")

    code, out = keel("data", "status", str(src))
    assert (code, out.strip()) == (0, "docs@1: no changes")
    (src / "a.txt").write_text("ALPHA!")
    code, out = keel("data", "status", str(src), "--json")
    assert code == 1 and json.loads(out)["modified"] == ["a.txt"]

    code, out = keel("data", "add", str(src), "--name", "docs", "--json")
    assert code == 0 and json.loads(out)["version"] == 2 and json.loads(out)["new_version"]
    code, out = keel("data", "diff", "docs@1", "docs@2")
    assert code == 0 and "0 added, 0 removed, 1 modified" in out and "a.txt" in out

    code, out = keel("data", "get", "docs@1", "-o", str(env / "out"))
    assert code == 0 and (env / "out" / "a.txt").read_text() == "alpha"
    (env / "out" / "b" / "c.txt").write_text("edited")
    code, out = keel("data", "get", "docs@2", "-o", str(env / "out"))
    assert code == 1 and "local changes" in out and "--force" in out
    assert (env / "out" / "b" / "c.txt").read_text() == "edited"

    code, out = keel("data", "log", "docs", "--json")
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    assert json.loads(out)[0]["created_by"] == "carol"
    code, out = keel("data", "show", "docs", "--json")
    assert json.loads(out)["version"] == 2 and json.loads(out)["used_by"] == []
    code, out = keel("data", "list", "--json")
    assert [(d["name"], d["latest_version"]) for d in json.loads(out)] == [("docs", 2)]

    code, out = keel("data", "push", "docs@1", "docs@2")
    assert code == 0 and out.startswith("pushed 3 objects")
    code, out = keel("data", "pull", "docs@2")
    assert code == 0 and out.startswith("pulled 0 objects") and "2 were cached" in out


def test_runs_show_lists_the_dataset_versions_a_run_used(env: Path) -> None:
    from keel.client import Client
    from keel.config import Settings

    src = write_files(env / "src", {"a.txt": "alpha"})
    c = Client(settings=Settings.from_env())
    try:
        run = c.create_run(c.create_experiment("lineage")).info.run_id
        c.log_dataset(run, src, name="docs", context="training")
        c.set_terminated(run)
    finally:
        c.close()
    code, out = keel("runs", "show", run, "--json")
    assert code == 0
    assert [(i["dataset"], i["context"]) for i in json.loads(out)["inputs"]] == [
        ("datasets:/docs@1", "training")
    ]
    code, out = keel("runs", "show", run)
    assert code == 0 and "dataset inputs" in out and "datasets:/docs@1" in out


def test_gc_keeps_what_only_this_cache_holds_and_frees_what_was_pushed(env: Path) -> None:
    src = write_files(env / "src", {"a.txt": "alpha", "b.txt": "beta"})
    assert keel("data", "add", str(src), "--name", "docs")[0] == 0
    shutil.rmtree(src)
    code, out = keel("data", "gc")
    assert code == 0 and out.startswith("removed 0 objects")
    assert "kept 2 (9 B) that this store's remote lacks or holds damaged" in out
    assert keel("data", "push", "docs@1")[0] == 0
    code, out = keel("data", "gc", "--dry-run", "--json")
    assert code == 0 and (json.loads(out)["removed"], json.loads(out)["dry_run"]) == (2, True)
    code, out = keel("data", "gc")
    assert code == 0 and out.startswith("removed 2 objects (9 B)")
    assert keel("data", "get", "docs@1", "-o", str(env / "back"))[0] == 0  # pulled back
    assert (env / "back" / "b.txt").read_text() == "beta"


def test_bad_input_is_one_line_and_exit_1(env: Path) -> None:
    code, out = keel("data", "add", str(env / "nope"), "--name", "x")
    assert code == 1 and "does not exist" in out
    code, out = keel("data", "get", "x@one", "-o", str(env / "o"))
    assert code == 1 and "must be a number or 'latest'" in out
    code, out = keel("data", "status", str(env))
    assert code == 1 and "not a dataset folder" in out
    code, out = keel("data", "status", str(env / "nope"))
    assert code == 1 and "does not exist" in out


def test_the_server_serves_versions_manifests_and_lineage(tmp_path: Path) -> None:
    from keel.client import Client
    from keel.config import Settings

    db = f"sqlite:///{tmp_path / 'keel.db'}"
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    with Client(db, settings=settings) as c:
        run_id = c.create_run(c.create_experiment("e")).run_id
        src = write_files(tmp_path / "src", {"x.csv": "a\n1\n"})
        version = c.log_dataset(run_id, src, name="seeds", context="evaluation")
        manifest = c.data.store.get_manifest(version.digest)
    srv = ServerProcess(db, tmp_path / "artifacts", tmp_path / "server.log").start()
    try:
        api = f"{srv.url}/api/v1"
        assert httpx.get(f"{api}/datasets").json()["datasets"][0]["name"] == "seeds"
        got = httpx.get(f"{api}/datasets/seeds/versions/latest").json()
        assert (got["version"], got["digest"], got["kind"]) == (1, version.digest, "folder")
        assert httpx.get(f"{api}/datasets/seeds/versions/1/manifest").content == manifest
        users = httpx.get(f"{api}/datasets/seeds/versions/1/runs").json()["inputs"]
        assert [(u["run_id"], u["context"]) for u in users] == [(run_id, "evaluation")]
        inputs = httpx.get(f"{api}/runs/{run_id}/inputs").json()["inputs"]
        assert inputs[0]["dataset"] == "datasets:/seeds@1"
        missing = httpx.get(f"{api}/datasets/seeds/versions/9")
        assert missing.status_code == 404 and "no version 9" in missing.text
        bad = httpx.get(f"{api}/datasets/seeds/versions/nine")
        assert bad.status_code == 400

        from keel.artifacts.hashing import hash_bytes

        real = hash_bytes(b"payload")
        lie = httpx.put(f"{api}/dataset-objects/{real}", content=b"another payload")
        assert lie.status_code == 400 and "does not match" in lie.text
        missing = httpx.post(f"{api}/dataset-objects/missing", json={"digests": [real]})
        assert missing.json()["missing"] == [real]  # the refused upload left nothing
        assert httpx.put(f"{api}/dataset-objects/{real}", content=b"payload").status_code == 201
        assert httpx.get(f"{api}/dataset-objects/{real}").content == b"payload"
        traversal = httpx.put(f"{api}/dataset-objects/..%2F..%2Fetc", content=b"x")
        # Not an upload route once decoded (its name holds '/'): a body of bytes is refused
        # as not JSON (415) before any route is looked for.
        assert traversal.status_code in (400, 404, 415)
        not_hex = httpx.post(f"{api}/dataset-objects/missing", json={"digests": ["../x"]})
        assert not_hex.status_code == 400 and "digests[0]" in not_hex.text
    finally:
        srv.stop()


def test_tables_get_a_profile_a_schema_and_validation(env: Path) -> None:
    pytest.importorskip("pandera")
    table = env / "people.csv"
    table.write_text("id,age,city\n1,34,paris\n2,41,lyon\n3,29,paris\n")
    code, out = keel("data", "add", str(table), "--name", "people", "--json")
    added = json.loads(out)
    assert code == 0 and added["kind"] == "table"
    assert (added["row_count"], added["column_count"]) == (3, 3)
    code, out = keel("data", "show", "people@1", "--json")
    shown = json.loads(out)
    assert [c["name"] for c in shown["profile"]["columns"]] == ["id", "age", "city"]

    code, out = keel("data", "schema", "infer", "people@1", "-o", str(env / "schema.yaml"))
    assert code == 0 and (env / "schema.yaml").exists()
    code, out = keel("data", "validate", "people@1", "--schema", str(env / "schema.yaml"))
    assert code == 0, out

    table.write_text("id,age,city\n1,34,paris\n1,-5,rome\n3,,paris\n")
    code, out = keel("data", "add", str(table), "--name", "people")
    assert code == 0 and "datasets:/people@2" in out
    code, out = keel("data", "validate", "people@2", "--schema", str(env / "schema.yaml"), "--json")
    report = json.loads(out)
    assert code == 1 and not report["passed"]
    rules = {(v["column"], v["rule"]) for v in report["violations"]}
    assert {("id", "unique"), ("city", "allowed")} <= rules, rules
    code, out = keel("data", "diff", "people@1", "people@2", "--json")
    assert json.loads(out)["table"] is not None

    (env / "bad.yaml").write_text("columns:\n  - name: id\n    dtype: integer-ish\n")
    code, out = keel("data", "validate", "people@2", "--schema", str(env / "bad.yaml"))
    assert code == 1 and "columns[0].dtype" in out

    bad_csv = env / "broken.csv"
    bad_csv.write_text("a,b\n1,2\n3,4,5\n")
    code, out = keel("data", "add", str(bad_csv), "--name", "broken")
    assert code == 1 and "line 3" in out

"""What a folder's versions leave out: Keel's own store inside it (a ``.keel`` folder at any
depth, the home, database and artifact root in use) and what its ``.keelignore`` lists."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.support import write_files
from keel.cli.main import app
from keel.client import Client
from keel.config import Settings
from keel.data.ignore import IgnoreRules

KEELIGNORE = """\
# comments and blank lines are skipped

*.log
!keep.log
tmp/
/build
**/cache/**
docs/*.md
!docs/README.md
\\#hash
secret.txt
"""

FILES = {
    "train.csv": "1,2",
    "events.log": "ignored",
    "sub/trace.log": "ignored at any depth",
    "keep.log": "taken back",
    "tmp/scratch.bin": "a folder pattern",
    "build/out.o": "anchored",
    "src/build/kept.o": "not the anchored one",
    "deep/cache/blob.bin": "everything inside",
    "docs/notes.md": "ignored",
    "docs/README.md": "taken back",
    "docs/guide/page.md": "* stays in one folder",
    "#hash": "a quoted #",
    "secret.txt": "ignored",
    "nested/secret.txt": "ignored at any depth",
    "sub/.keel/keel.db": "a store in a subfolder",
}

KEPT = [
    ".keelignore",
    "docs/README.md",
    "docs/guide/page.md",
    "keep.log",
    "src/build/kept.o",
    "train.csv",
]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.log", "a.log", False, True),
        ("*.log", "x/y/a.log", False, True),
        ("*.log", "a.logs", False, False),
        ("name", "x/name", True, True),
        ("dir/", "dir", True, True),
        ("dir/", "dir", False, False),
        ("/top", "top", False, True),
        ("/top", "x/top", False, False),
        ("a/b", "a/b", False, True),
        ("a/b", "x/a/b", False, False),
        ("**/b", "x/y/b", False, True),
        ("**/b", "b", False, True),
        ("a/**", "a/x/y", False, True),
        ("a/**", "a", True, False),
        ("a/**/z", "a/z", False, True),
        ("a/**/z", "a/x/y/z", False, True),
        ("?.txt", "a.txt", False, True),
        ("?.txt", "ab.txt", False, False),
        ("[ab].txt", "b.txt", False, True),
        ("[!ab].txt", "c.txt", False, True),
        ("[!ab].txt", "a.txt", False, False),
        ("*", "x/y", False, True),
        ("# comment", "# comment", False, False),
        ("\\#a", "#a", False, True),
        ("\\!a", "!a", False, True),
        ("a.txt   ", "a.txt", False, True),
    ],
)
def test_patterns_match_as_in_gitignore(
    pattern: str, path: str, is_dir: bool, ignored: bool
) -> None:
    assert IgnoreRules.parse(pattern).ignored(path, is_dir=is_dir) is ignored


def test_the_last_matching_pattern_wins() -> None:
    rules = IgnoreRules.parse("*.csv\n!keep*.csv\nkeep-not.csv\n")
    assert [rules.ignored(p, is_dir=False) for p in ("a.csv", "keep.csv", "keep-not.csv")] == [
        True,
        False,
        True,
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "project", FILES)
    (root / ".keelignore").write_text(KEELIGNORE)
    return root


@pytest.fixture
def local(project: Path) -> Iterator[Client]:
    """A client whose embedded store is ``project/.keel``, as when a run is started in the
    data folder; a run with an artifact fills the store."""
    with Client(settings=Settings(home=project / ".keel", user="alice")) as client:
        run = client.create_run(client.create_experiment("in-the-data")).info.run_id
        client.log_text(run, "hello", "note.txt")
        client.set_terminated(run)
        client.flush()
        yield client


def manifest_paths(client: Client, name: str) -> list[str]:
    version = client.data.resolve(f"{name}@latest")
    return sorted(client.data.manifest(version.digest).files)


def test_add_leaves_out_the_store_and_what_keelignore_lists(local: Client, project: Path) -> None:
    assert (project / ".keel" / "keel.db").is_file()
    assert any((project / ".keel" / "artifacts").rglob("note.txt"))
    local.data.add(project, name="project")
    assert manifest_paths(local, "project") == KEPT


def test_status_does_not_report_ignored_files(local: Client, project: Path) -> None:
    local.data.add(project, name="project")
    write_files(project, {"new.log": "x", "tmp/more.bin": "x", "build/b.o": "x"})
    write_files(project, {"other/.keel/keel.db": "x", "deep/cache/more": "x"})
    local.log_text(local.create_run(local.create_experiment("again")).info.run_id, "x", "y.txt")
    local.flush()
    assert local.data.status(project).changes.clean
    (project / "train.csv").write_text("3,4")
    (project / "added.csv").write_text("5")
    changes = local.data.status(project).changes
    assert (changes.added, changes.modified, changes.removed) == (["added.csv"], ["train.csv"], [])


def test_get_over_a_folder_with_a_store_keeps_the_store(local: Client, project: Path) -> None:
    local.data.add(project, name="project")
    (project / "train.csv").unlink()
    local.data.add(project, name="project")
    local.data.get("project@1", project, force=True)
    assert (project / "train.csv").read_text() == "1,2"
    assert (project / ".keel" / "keel.db").is_file()
    assert local.data.status(project).changes.clean


def test_a_store_of_another_name_inside_the_folder_is_left_out(
    project: Path, tmp_path: Path
) -> None:
    settings = Settings(
        home=project / "home",
        tracking_uri=f"sqlite:///{project / 'meta.db'}",
        artifacts_uri=str(project / "runs-artifacts"),
        user="alice",
    )
    with Client(settings=settings) as client:
        run = client.create_run(client.create_experiment("elsewhere")).info.run_id
        client.log_text(run, "hello", "note.txt")
        client.flush()
        client.data.add(project, name="project")
        assert (project / "meta.db").is_file() and (project / "home" / "data").is_dir()
        assert (project / "runs-artifacts").is_dir()
        assert manifest_paths(client, "project") == KEPT


def test_keel_data_add_from_the_project_root_leaves_out_its_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(project)
    with Client() as client:  # ./.keel, made here
        run = client.create_run(client.create_experiment("here")).info.run_id
        client.log_text(run, "hello", "note.txt")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "add", ".", "--name", "project", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout)["file_count"] == len(KEPT)
    (project / "fresh.log").write_text("ignored")
    result = runner.invoke(app, ["data", "status", "."])
    assert (result.exit_code, result.stdout.strip()) == (0, "project@1: no changes")
    with Client() as client:
        assert manifest_paths(client, "project") == KEPT

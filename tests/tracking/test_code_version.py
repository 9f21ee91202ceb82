"""The code version of a run: the git commit of the script's folder and whether it had
uncommitted changes, found in a real temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.client import Client
from keel.config import Settings
from keel.entities.run import TAG_GIT_COMMIT, TAG_GIT_DIFF_HASH, TAG_GIT_DIRTY, TAG_SOURCE_NAME
from keel.tracking.code_version import find_code_version

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_IDENTITY = ["-c", "user.name=Keel Test", "-c", "user.email=test@keel.invalid"]


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env=_git_env(),
    )
    return result.stdout.strip()


def _git_env() -> dict[str, str]:
    # Keep the caller's repository (GIT_DIR and friends) and global config out of it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "train.py").write_text("print('v1')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # find_code_version is cached per process (a script's code does not change while it
    # runs); tests that change a tree clear it.
    find_code_version.cache_clear()
    yield
    find_code_version.cache_clear()


def test_a_clean_tree_gives_its_commit(repo: Path) -> None:
    version = find_code_version(repo)
    assert version is not None
    assert version.commit == git(repo, "rev-parse", "HEAD")
    assert len(version.commit) == 40
    assert version.dirty is False
    assert version.diff_hash is None
    assert version.branch == git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    assert version.to_tags()[TAG_GIT_DIRTY] == "false"


def test_a_changed_tracked_file_makes_it_dirty(repo: Path) -> None:
    (repo / "train.py").write_text("print('v2')\n")
    version = find_code_version(repo)
    assert version is not None
    assert version.commit == git(repo, "rev-parse", "HEAD")
    assert version.dirty is True
    assert version.diff_hash
    tags = version.to_tags()
    assert tags[TAG_GIT_DIRTY] == "true"
    assert tags[TAG_GIT_DIFF_HASH] == version.diff_hash

    # The same change hashes the same; a different change hashes differently.
    find_code_version.cache_clear()
    again = find_code_version(repo)
    assert again is not None and again.diff_hash == version.diff_hash
    (repo / "train.py").write_text("print('v3')\n")
    find_code_version.cache_clear()
    other = find_code_version(repo)
    assert other is not None and other.diff_hash != version.diff_hash


def test_untracked_files_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "scratch.txt").write_text("notes")
    version = find_code_version(repo)
    assert version is not None and version.dirty is False


def test_a_detached_head_has_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    version = find_code_version(repo)
    assert version is not None and version.branch is None


def test_outside_a_repository_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    # Stop git from finding a repository above the temporary folder.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert find_code_version(outside) is None


def test_a_script_in_a_repository_tags_its_run(repo: Path, tmp_path: Path) -> None:
    script = repo / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import keel

            keel.set_experiment("code")
            with keel.start_run() as run:
                keel.log_metric("loss", 0.5)
            print(run.run_id)
            """
        )
    )
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "script")
    store = tmp_path / "store"
    env = {k: v for k, v in _git_env().items() if not k.startswith("KEEL_")}
    env.update(KEEL_TRACKING_URI=str(store), KEEL_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # the script's folder, not the working directory, decides
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    with Client(str(store), settings=Settings(home=tmp_path / "reader")) as client:
        run = client.get_run(run_id)
    assert run.data.tags[TAG_GIT_COMMIT] == git(repo, "rev-parse", "HEAD")
    assert run.data.tags[TAG_GIT_DIRTY] == "false"
    assert run.data.tags[TAG_SOURCE_NAME] == "train.py"
    assert run.code_version is not None
    assert run.code_version.commit == run.data.tags[TAG_GIT_COMMIT]

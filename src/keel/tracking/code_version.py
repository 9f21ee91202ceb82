"""The code a run was made from: the git commit, whether the tree had changes, and a hash
of those changes, found once per process."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from keel.entities import CodeVersion


def _git(args: list[str], cwd: Path) -> bytes | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def _source_dir() -> Path:
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    return Path(main_file).resolve().parent if main_file else Path(os.getcwd())


@functools.lru_cache(maxsize=8)
def find_code_version(folder: Path | None = None) -> CodeVersion | None:
    """The git state of ``folder`` (default: the folder of the running script), or None
    outside a repository or without git."""
    cwd = folder or _source_dir()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or b""
    dirty = bool(status.strip())
    diff_hash = None
    if dirty:
        from keel.artifacts.hashing import hash_bytes

        diff_hash = hash_bytes(_git(["diff", "HEAD"], cwd) or b"")
    branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or b"").decode().strip()
    return CodeVersion(
        commit=commit.decode().strip(),
        dirty=dirty,
        diff_hash=diff_hash,
        branch=branch if branch and branch != "HEAD" else None,
    )

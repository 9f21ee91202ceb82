"""Temporary files of writes that never finished are swept once they are old."""

from __future__ import annotations

import os
import time
from pathlib import Path

from keel.artifacts.store import ArtifactStore


def test_only_old_unfinished_writes_are_removed(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "root"))
    kept = store.write_bytes("1/run/artifacts/model.bin", b"complete")
    folder = tmp_path / "root" / "1" / "run" / "artifacts"
    stale = folder / ".weights.bin.tmp-0123456789ab"
    fresh = folder / ".other.bin.tmp-ba9876543210"
    lookalike = folder / ".notes.tmp-draft"  # a user's file that merely looks similar
    for path in (stale, fresh, lookalike):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(lookalike, (hours_ago, hours_ago))

    assert store.sweep_partial_writes(older_than=3600) == 1
    assert not stale.exists()
    assert fresh.exists() and lookalike.exists()
    assert (folder / "model.bin").read_bytes() == b"complete" and kept.file_size == 8


def test_a_root_not_yet_written_has_nothing_to_sweep(tmp_path: Path) -> None:
    assert ArtifactStore(str(tmp_path / "missing")).sweep_partial_writes() == 0

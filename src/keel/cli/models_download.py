"""``keel models download``: fetch a version's package and prove it is the one registered."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from keel.cli.progress import transfer


def download_package(c: Any, version: Any, output: Path) -> tuple[int, int]:
    """Download ``version``'s package into ``output`` (absent or empty) and check its
    manifest against the registered ``content_hash``; returns (files, bytes).

    The package is staged beside ``output`` and moved into place only once checked, so a
    package that fails the check leaves nothing behind.
    """
    from keel.artifacts.hashing import hash_stream
    from keel.artifacts.repository import walk
    from keel.errors import AlreadyExists, CorruptData
    from keel.uri import MODEL_MANIFEST, parse_run_artifact_uri

    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise AlreadyExists(f"output {str(output)!r}: exists and is not an empty folder")
    source = parse_run_artifact_uri(version.source)
    files = walk(c.artifacts, source.run_id, source.path or None)
    total = sum(f.file_size or 0 for f in files)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".keel-model-", dir=output.parent))
    try:
        resume = f"nothing was kept in {str(output)!r}; run the same command again"
        with transfer("downloading", resume=resume) as bar:
            local = c.download_artifacts(source.run_id, source.path, staging, progress=bar)
        manifest = local / MODEL_MANIFEST
        if not manifest.is_file():
            raise CorruptData(f"model {version.name}/{version.version}: no {MODEL_MANIFEST}")
        with open(manifest, "rb") as stream:
            digest, _ = hash_stream(stream)
        version.check_manifest_digest(digest)
        if output.exists():
            output.rmdir()
        local.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files), total

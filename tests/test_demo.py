"""``make demo`` runs examples/demo.py: it must keep working, registry part included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from keel.client import Client
from keel.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_takes_a_model_through_the_registry(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_HOME"] = str(tmp_path / ".keel")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "registered as demo-classifier/1, alias champion set" in done.stdout
    assert "models:/demo-classifier@champion predicts [" in done.stdout
    client = Client(str(tmp_path / ".keel"), settings=Settings(home=tmp_path / ".keel"))
    try:
        champion = client.registry.resolve("models:/demo-classifier@champion")
        assert champion.version == 1
        assert champion.source.startswith("runs:/")
    finally:
        client.close()

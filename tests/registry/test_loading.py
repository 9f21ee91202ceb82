"""Loading a model by its address builds a registry reader and an artifact reader only:
a model server must not start a writer thread, open a spool or build a tracking client."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression

import keel
from keel.config import Settings


def test_loading_by_alias_builds_no_tracking_client(tmp_path: Path) -> None:
    store = tmp_path / "store"
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    model = LinearRegression().fit(x, x[:, 0] * 2 + x[:, 1])
    with keel.Client(str(store), settings=Settings(home=tmp_path / "home")) as client:
        run = client.create_run(client.create_experiment("m"))
        logged = client.log_model(run.run_id, model, "model", input_example=x[:2])
        version = client.registry.register_model(logged.uri, "lean")
        client.registry.set_alias("lean", "champion", version.version)
        client.set_terminated(run.run_id)
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            import numpy as np
            import keel
            from keel import fluent

            model = keel.load_model("models:/lean@champion")
            print(round(float(model.predict(np.array([[1.0, 2.0]]))[0]), 6))
            names = sorted(t.name for t in threading.enumerate())
            assert not any(n.startswith("keel-writer") for n in names), names
            assert fluent._state.client is None  # no tracking client was built
            import gc
            from keel.tracking.spool import Spool
            from keel.tracking.writer import BackgroundWriter
            live = [type(o).__name__ for o in gc.get_objects()
                    if isinstance(o, (Spool, BackgroundWriter))]
            assert not live, live
            print("lean")
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(KEEL_TRACKING_URI=str(store), KEEL_HOME=str(tmp_path / "other-home"))
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "lean"
    assert done.stdout.split("\n")[0] == "4.0"

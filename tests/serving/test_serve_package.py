"""The container image's command, run here: ``keel serve /opt/model --host 0.0.0.0 --port
8080 --insecure-no-auth`` (the argv is read from the Dockerfile ``keel deployments build``
writes) on a plain package folder made by ``keel.models.save_model``, with no store and
no tracking URI, as in the image. Only the folder and the port differ: the package's path
here, and a free port, as the test cannot count on 8080 being free."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from serving.support import ROW, ServeProcess

IDS_HEADER = "x-keel-prediction-ids"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from keel.models import save_model

    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(100, 4)), columns=list(ROW))
    model = LogisticRegression().fit(x, (x["f0"] + x["f1"] > 0).astype(int))
    folder = tmp_path_factory.mktemp("image") / "model"
    save_model(model, folder, input_example=x.head(2), onnx=False)
    return folder


def image_command(folder: Path, port: int) -> list[str]:
    """The image's ``CMD``, with the package folder and the port of this test."""
    from keel.serving.packaging import MODEL_DIR, dockerfile

    text = dockerfile(
        base_image="python:3.11-slim-bookworm", port=8080, name="model-iris",
        version=None, digest=None,
    )  # fmt: skip
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")][-1]
    argv = json.loads(cmd.removeprefix("CMD "))
    assert argv == ["keel", "serve", MODEL_DIR, "--host", "0.0.0.0", "--port", "8080",
                    "--insecure-no-auth"]  # fmt: skip
    swapped = {MODEL_DIR: str(folder), "8080": str(port)}
    return [sys.executable, "-m", "keel", *(swapped.get(word, word) for word in argv[1:])]


def test_the_image_command_serves_a_package_folder_without_a_store(
    package: Path, tmp_path: Path
) -> None:
    server = ServeProcess(str(package), tmp_path / "serve.log", {})
    port = free_port()
    server.port, server.url = port, f"http://127.0.0.1:{port}"
    # The image's environment: KEEL_HOME under /tmp, no KEEL_TRACKING_URI (nothing else
    # of KEEL_ from this machine either), the working directory /tmp.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(HOME=str(tmp_path), KEEL_HOME=str(tmp_path / "keel"))
    with open(server.log, "ab") as out:
        server.proc = subprocess.Popen(
            image_command(package, port), stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=tmp_path, start_new_session=True,
        )  # fmt: skip
    try:
        server.wait_ready()
        assert httpx.get(f"{server.url}/v2/health/ready").json() == {"ready": True}
        split = {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}}
        r = httpx.post(f"{server.url}/invocations", json=split)  # no token: open
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": [1]} and len(r.headers[IDS_HEADER]) == 32
        r = httpx.post(f"{server.url}/predict", json={"records": [ROW]})
        assert r.status_code == 200 and r.json()["model"] == {"name": "model", "version": 1}
        # No store: nothing is logged, so feedback has nowhere to go, and says so.
        r = httpx.post(f"{server.url}/feedback", json={"prediction_ids": [], "labels": []})
        assert r.status_code == 404 and "no prediction log" in r.json()["error"]["message"]
    finally:
        server.terminate()
    assert server.proc.wait(30) == 0, server.log.read_text()[-3000:]
    assert not (tmp_path / "keel").exists() or not any((tmp_path / "keel").rglob("*.db"))
    assert "Traceback" not in server.log.read_text()

"""The model servers that ``bench/serving.py`` measures: how each gets the shared model,
starts, and is asked for predictions (its own request and answer formats).

Every server runs with one worker on 127.0.0.1 and answers the same LogisticRegression,
rebuilt from one coefficients file (``workloads/serving_model.py``). Keel runs from the
interpreter that runs the harness (the project's ``.venv`` under ``make bench``); the
anchors from their own venvs under ``bench/.venvs/``, made on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _anchors import BENTOML_VENV, BENTOML_VERSION, MLFLOW_VENV, MLFLOW_VERSION, REPO_DIR, Venv
from _servers import loopback_env

WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"
MODEL_SCRIPT = WORKLOADS_DIR / "serving_model.py"
MODEL_FILE = "model.json"
KEEL_MODEL_URI = "models:/bench-logreg@champion"

# The option of `keel serve` that sets the share of predictions logged (0 to 1). The harness
# checks that the log-on run wrote Parquet rows and the log-off run none, so an option that
# does not take effect shows in the report instead of passing as a free log.
KEEL_SAMPLING_OPTION = "--sampling"

Rows = list[list[float]]


@dataclass(frozen=True)
class ModelServer:
    """One server under test; ``folder`` below is its own fresh folder of the run, holding
    the coefficients file as ``model.json``."""

    key: str
    label: str
    route: str
    encode: Callable[[Rows, list[str]], bytes]
    """A JSON request body in the server's own format for these rows."""
    decode: Callable[[bytes], list[Any]]
    """The predictions in the server's answer."""
    argv: Callable[[int, Path], list[str]]
    env: Callable[[Path], dict[str, str]]
    prepare: Callable[[Path], None]
    """Put the model where the server loads it from (not timed)."""
    venv: Venv | None = None
    cwd: Path = REPO_DIR
    log_sampling: float | None = None
    """Keel only: the prediction log's sampling rate for this run."""
    notes: tuple[str, ...] = field(default=())

    def ensure_installed(self) -> None:
        if self.venv is not None:
            self.venv.ensure()


def run_model_script(
    python: Path | str, *args: str, env: dict[str, str] | None = None, script: Path = MODEL_SCRIPT
) -> Any:
    """Run a phase of ``script`` (``serving_model.py`` unless told) with ``python``; its
    JSON answer."""
    done = subprocess.run(
        [str(python), str(script), *args],
        capture_output=True,
        text=True,
        env=loopback_env(env),
        cwd=REPO_DIR,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _on_path(venv: Venv) -> dict[str, str]:
    """The venv's programs first on PATH, as an activated venv has them."""
    return {"PATH": os.pathsep.join([str(venv.path / "bin"), os.environ.get("PATH", "")])}


# Keel -------------------------------------------------------------------------------------

KEEL_PYTHON = Path(sys.executable)


def _keel_env(folder: Path) -> dict[str, str]:
    return {"KEEL_HOME": str(folder / "keel-home")}


def _keel_prepare(folder: Path) -> None:
    model = str(folder / MODEL_FILE)
    run_model_script(KEEL_PYTHON, "keel", "--model", model, env=_keel_env(folder))


def keel_argv(sampling: float, target: str = KEEL_MODEL_URI) -> Callable[[int, Path], list[str]]:
    """``keel serve target`` with one worker and the prediction log at ``sampling``."""

    def argv(port: int, folder: Path) -> list[str]:
        return [
            str(KEEL_PYTHON), "-m", "keel", "serve", target,
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            KEEL_SAMPLING_OPTION, str(sampling),
        ]  # fmt: skip

    return argv


def _keel_encode(rows: Rows, columns: list[str]) -> bytes:
    return json.dumps({"records": [dict(zip(columns, row, strict=True)) for row in rows]}).encode()


def _predictions_field(answer: bytes) -> list[Any]:
    return list(json.loads(answer)["predictions"])


KEEL = ModelServer(
    key="keel",
    label="Keel",
    route="/predict",
    encode=_keel_encode,
    decode=_predictions_field,
    argv=keel_argv(0),
    env=_keel_env,
    prepare=_keel_prepare,
    log_sampling=0.0,
    notes=("`keel serve models:/bench-logreg@champion --workers 1 --sampling 0` (the "
           "prediction log off), Keel's JSON (`{\"records\": [{\"f0\": ..., ...}]}`) on "
           "`POST /predict`",),
)  # fmt: skip

KEEL_LOGGED = replace(
    KEEL,
    key="keel-log",
    label="Keel, log 100%",
    argv=keel_argv(1),
    log_sampling=1.0,
    notes=("the same with `--sampling 1`: every prediction written to the prediction log",),
)


# BentoML ----------------------------------------------------------------------------------


def _bentoml_argv(port: int, folder: Path) -> list[str]:
    return [
        str(BENTOML_VENV.bin("bentoml")), "serve", "bentoml_service:LogisticRegressionService",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


def _bentoml_env(folder: Path) -> dict[str, str]:
    return {
        "BENCH_SERVING_MODEL": str(folder / MODEL_FILE),
        "BENTOML_HOME": str(folder / "bentoml-home"),
        "BENTOML_DO_NOT_TRACK": "True",
        **_on_path(BENTOML_VENV),
    }


BENTOML = ModelServer(
    key="bentoml",
    label=f"BentoML {BENTOML_VERSION}",
    route="/predict",
    encode=lambda rows, _columns: json.dumps({"input": rows}).encode(),
    decode=lambda answer: list(json.loads(answer)),
    argv=_bentoml_argv,
    env=_bentoml_env,
    prepare=lambda folder: None,  # the service rebuilds the model from the file
    venv=BENTOML_VENV,
    cwd=WORKLOADS_DIR,
    notes=("`bentoml serve` of `workloads/bentoml_service.py`: one worker, "
           '`@bentoml.api(batchable=True)` over a NumPy array (`{"input": [[...]]}`)',),
)  # fmt: skip


# MLflow -----------------------------------------------------------------------------------


def _mlflow_prepare(folder: Path) -> None:
    run_model_script(
        MLFLOW_VENV.bin("python"), "mlflow",
        "--model", str(folder / MODEL_FILE), "--out", str(folder / "mlflow-model"),
    )  # fmt: skip


def _mlflow_argv(port: int, folder: Path) -> list[str]:
    return [
        str(MLFLOW_VENV.bin("mlflow")), "models", "serve",
        "--model-uri", str(folder / "mlflow-model"), "--env-manager", "local",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def _mlflow_encode(rows: Rows, columns: list[str]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()


MLFLOW = ModelServer(
    key="mlflow",
    label=f"MLflow {MLFLOW_VERSION}",
    route="/invocations",
    encode=_mlflow_encode,
    decode=_predictions_field,
    argv=_mlflow_argv,
    env=lambda folder: _on_path(MLFLOW_VENV),  # it execs `uvicorn` by name
    prepare=_mlflow_prepare,
    venv=MLFLOW_VENV,
    notes=("`mlflow models serve --env-manager local --workers 1` of the model saved with "
           "`mlflow.sklearn.save_model`, `dataframe_split` JSON on `POST /invocations`",),
)  # fmt: skip

SERVERS: dict[str, ModelServer] = {
    server.key: server for server in (KEEL, KEEL_LOGGED, BENTOML, MLFLOW)
}
"""In the order they run; only one is up at a time."""

"""The tools measured side by side: how to install each, start its server, and drive it.

Anchors live in their own virtual environments under ``bench/.venvs/`` (git-ignored),
made on first use with ``python3.11 -m venv`` and pip. Keel runs from the project's
``.venv``, which this harness never installs into.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from _seed_sql import seed_fasttrackml, seed_mlflow
from workloads._dataset import SeedRun

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"
WORKLOADS_DIR = BENCH_DIR / "workloads"
KEEL_VENV = REPO_DIR / ".venv"

MLFLOW_VERSION = "3.17.2"
BENTOML_VERSION = "1.4.40"
FASTTRACKML_VERSION = "0.6.0"
VENV_PYTHON = "python3.11"
MARKER = ".bench-requirement"


@dataclass(frozen=True)
class Venv:
    """A virtual environment holding one pinned requirement."""

    name: str
    requirement: str
    # FastTrackML's wheel is a Go binary; its Python dependency (an old MLflow) is unused.
    no_deps: bool = False
    # Further packages installed beside the requirement (scikit-learn for a model; pandas<3
    # for Evidently 0.7, which fails to import under pandas 3).
    extras: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return VENVS_DIR / self.name

    def bin(self, program: str) -> Path:
        return self.path / "bin" / program

    @property
    def stamp(self) -> str:
        """The requirement, and for Keel's own editable install its pyproject's digest
        (a changed extra must reinstall)."""
        if "--editable" not in self.requirement:
            return " ".join((self.requirement, *self.extras))
        digest = hashlib.sha256((REPO_DIR / "pyproject.toml").read_bytes()).hexdigest()[:16]
        return f"{self.requirement} pyproject:{digest}"

    def is_ready(self) -> bool:
        marker = self.path / MARKER
        return marker.is_file() and marker.read_text().strip() == self.stamp

    def ensure(self) -> None:
        """Create the venv and install the requirement unless it is already there."""
        if self.is_ready():
            return
        print(f"[setup] creating {self.path} with {self.requirement} ...", file=sys.stderr)
        shutil.rmtree(self.path, ignore_errors=True)
        subprocess.run([VENV_PYTHON, "-m", "venv", str(self.path)], check=True)
        pip = [str(self.bin("python")), "-m", "pip", "install", "--quiet"]
        if self.no_deps:
            pip.append("--no-deps")
        subprocess.run([*pip, self.requirement, *self.extras], check=True)
        (self.path / MARKER).write_text(self.stamp + "\n")


MLFLOW_VENV = Venv("mlflow", f"mlflow=={MLFLOW_VERSION}")
BENTOML_VENV = Venv("bentoml", f"bentoml=={BENTOML_VERSION}", extras=("scikit-learn",))
FASTTRACKML_VENV = Venv("fasttrackml", f"fasttrackml=={FASTTRACKML_VERSION}", no_deps=True)

Seeder = Callable[[Path, str, list[SeedRun]], None]


@dataclass(frozen=True)
class Tool:
    """One tracking server and the client that drives it."""

    key: str
    label: str
    venvs: tuple[Venv, ...]
    client_python: Path
    workload: Path
    health_path: str
    db_file: str
    server_argv: Callable[[int, Path], list[str]]
    # Anchors are seeded with SQL into their own schema; Keel through its own client.
    sql_seeder: Seeder | None
    import_module: str | None
    cli: tuple[str, ...]
    # Keel with a user on the store: every request carries a bearer token and is checked.
    authenticated: bool = False

    def ensure_installed(self) -> None:
        for venv in self.venvs:
            venv.ensure()
        if not self.client_python.exists():
            raise FileNotFoundError(f"{self.label}: no interpreter at {self.client_python}")


def _mlflow_argv(port: int, data_dir: Path) -> list[str]:
    return [
        str(MLFLOW_VENV.bin("mlflow")), "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--backend-store-uri", f"sqlite:///{data_dir / 'mlflow.db'}",
        "--default-artifact-root", str(data_dir / "artifacts"),
        "--workers", "1",
    ]  # fmt: skip


def _fasttrackml_argv(port: int, data_dir: Path) -> list[str]:
    return [
        str(FASTTRACKML_VENV.bin("fml")), "server",
        "--listen-address", f"127.0.0.1:{port}",
        # FastTrackML's form is sqlite://PATH; PATH is absolute, hence three slashes.
        "--database-uri", f"sqlite://{data_dir / 'fasttrackml.db'}",
        "--default-artifact-root", str(data_dir / "artifacts"),
    ]  # fmt: skip


def _keel_argv(port: int, data_dir: Path) -> list[str]:
    return [
        str(KEEL_VENV / "bin" / "keel"), "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--backend-store-uri", f"sqlite:///{data_dir / 'keel.db'}",
        "--artifacts-uri", str(data_dir / "artifacts"),
        "--workers", "1",
    ]  # fmt: skip


KEEL = Tool(
    key="keel",
    label="Keel",
    venvs=(),
    client_python=KEEL_VENV / "bin" / "python",
    workload=WORKLOADS_DIR / "keel_workload.py",
    health_path="/health",
    db_file="keel.db",
    server_argv=_keel_argv,
    sql_seeder=None,
    import_module="keel",
    cli=(str(KEEL_VENV / "bin" / "keel"), "--help"),
)

MLFLOW = Tool(
    key="mlflow",
    label=f"MLflow {MLFLOW_VERSION}",
    venvs=(MLFLOW_VENV,),
    client_python=MLFLOW_VENV.bin("python"),
    workload=WORKLOADS_DIR / "mlflow_workload.py",
    health_path="/health",
    db_file="mlflow.db",
    server_argv=_mlflow_argv,
    sql_seeder=seed_mlflow,
    import_module="mlflow",
    cli=(str(MLFLOW_VENV.bin("mlflow")), "--help"),
)

FASTTRACKML = Tool(
    key="fasttrackml",
    label=f"FastTrackML {FASTTRACKML_VERSION}",
    # Driven with the MLflow client, so it needs the MLflow venv as well.
    venvs=(MLFLOW_VENV, FASTTRACKML_VENV),
    client_python=MLFLOW_VENV.bin("python"),
    workload=WORKLOADS_DIR / "mlflow_workload.py",
    health_path="/health",  # answers "OK"
    db_file="fasttrackml.db",
    server_argv=_fasttrackml_argv,
    sql_seeder=seed_fasttrackml,
    import_module=None,  # no Python client of its own
    cli=(str(FASTTRACKML_VENV.bin("fml")), "--help"),
)

KEEL_AUTH = replace(KEEL, key="keel-auth", label="Keel, token auth", authenticated=True)
"""The same server and workload with authentication on: what a token check costs."""

TOOLS: dict[str, Tool] = {tool.key: tool for tool in (KEEL, KEEL_AUTH, MLFLOW, FASTTRACKML)}

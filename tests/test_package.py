"""The package's shape: a light ``import keel``, one curated public list and no printing
below the command line (layers: tests/test_layers.py)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import keel
from keel.version import DISTRIBUTION

SRC = Path(keel.__file__).resolve().parent

HEAVY = ("pandas", "numpy", "sqlalchemy", "fastapi", "polars", "pyarrow", "httpx", "typer", "rich")

PUBLIC = [
    "ActiveRun",
    "Client",
    "Experiment",
    "FileInfo",
    "Metric",
    "MetricHistory",
    "PagedList",
    "Param",
    "Run",
    "RunStatus",
    "RunTag",
    "Settings",
    "ViewType",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "create_experiment",
    "data",
    "delete_run",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "errors",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "infer_signature",
    "last_active_run",
    "lightgbm",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "onnx",
    "predictions",
    "pyfunc",
    "pytorch",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "xgboost",
]


# import cost -------------------------------------------------------------------------------


def loaded_after(code: str) -> set[str]:
    """Top-level names of the modules a fresh interpreter has loaded after ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_import_keel_loads_nothing_heavy() -> None:
    loaded = loaded_after("import keel")
    assert "keel" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_light_names_stay_light() -> None:
    # The settings, errors and plain types need none of the engines either.
    loaded = loaded_after("import keel\nkeel.Settings, keel.errors, keel.RunStatus, keel.Metric")
    assert sorted(loaded & set(HEAVY)) == []


# the public list ---------------------------------------------------------------------------


def test_all_is_the_curated_list() -> None:
    assert keel.__all__ == PUBLIC
    assert keel.__all__ == sorted(keel.__all__)
    assert set(keel.__all__) == set(keel._EXPORTS) | {"__version__"}
    assert sorted(dir(keel)) == sorted(PUBLIC)


def test_every_public_name_resolves() -> None:
    for name in keel.__all__:
        value = getattr(keel, name)
        assert value is not None, name
        if name not in ("__version__", *keel._MODULES, *keel._FLAVOR_MODULES):
            assert getattr(value, "__name__", name) == name, name
    assert keel.errors.NotFound.__module__ == "keel.errors"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = keel.nope  # type: ignore[attr-defined]


def test_the_distribution_is_keel_mlops() -> None:
    # `keel` on PyPI is an unrelated package: Keel is published as keel-mlops.
    project = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "keel-mlops"
    assert project["version"] == keel.__version__


def test_version_matches_the_installed_distribution() -> None:
    try:
        installed = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{DISTRIBUTION} is not installed here (pip install -e .)")
    assert installed == keel.__version__


def test_nothing_reads_metadata_under_the_old_name() -> None:
    old = ('version("keel")', "version('keel')", 'metadata("keel")', "metadata('keel')")
    found = [name for name, path in modules() if any(o in path.read_text() for o in old)]
    assert found == []


# no printing below the command line --------------------------------------------------------


def modules(under: str = "") -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of the package, or below ``under``."""
    root = SRC / under if under else SRC
    for path in sorted(root.rglob("*.py")):
        parts = ["keel", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


ALLOWED_PRINTS: set[tuple[str, str]] = set()


def terminal_writes(name: str, path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of each ``print(...)`` or ``sys.stdout/stderr.write``."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call):
            f = node.func
            prints = isinstance(f, ast.Name) and f.id == "print"
            writes = (
                isinstance(f, ast.Attribute)
                and f.attr == "write"
                and isinstance(f.value, ast.Attribute)
                and f.value.attr in ("stdout", "stderr")
            )
            if prints or writes:
                found.append((function, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_nothing_below_the_cli_prints() -> None:
    found = []
    for name, path in modules():
        if within(name, ("keel.cli",)):
            continue
        for function, line in terminal_writes(name, path):
            if (name, function) not in ALLOWED_PRINTS:
                found.append(f"{name}:{line} in {function}()")
    assert found == []


def test_the_scan_finds_prints(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import sys\ndef f():\n    print(1)\n    sys.stderr.write('x')\n")
    assert terminal_writes("keel.m", source) == [("f", 3), ("f", 4)]

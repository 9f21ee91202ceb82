"""Layers as code: the import-linter contracts in pyproject.toml hold, and no two modules
import each other when they are imported.

``make lint`` runs the same contracts; CI runs the tests, so they are checked here too.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

import keel

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(keel.__file__).resolve().parent


def test_the_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "lint-imports is missing: pip install -e '.[test]'"
    result = subprocess.run(
        [lint_imports, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"{result.stdout}\n{result.stderr}\n"
        "A broken contract: import through the layer below instead (DESIGN.md, Layout). "
        "'No matches for ignored import': the import has gone, delete its ignore_imports "
        "line in pyproject.toml."
    )


# import-time cycles ------------------------------------------------------------------------
#
# import-linter cannot tell an import inside a function from one at the top of a module,
# and a late import is how a module reaches one that imports it back without a cycle
# when either is imported. So this check counts what runs at import time only: neither
# imports under TYPE_CHECKING nor those inside functions.


def function_import_lines(path: Path) -> set[int]:
    """Lines of the import statements of ``path`` that run only when a function is called."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lines.update(
                inner.lineno
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            )
    return lines


def module_path(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package = SRC / relative / "__init__.py"
    return package if package.exists() else (SRC / relative).with_suffix(".py")


def import_time_graph() -> grimp.ImportGraph:
    graph = grimp.build_graph("keel", exclude_type_checking_imports=True, cache_dir=None)
    for importer in sorted(graph.modules):
        late = function_import_lines(module_path(importer))
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            details = graph.get_import_details(importer=importer, imported=imported)
            if details and all(d["line_number"] in late for d in details):
                graph.remove_import(importer=importer, imported=imported)
    return graph


def test_no_module_imports_itself_back_at_import_time() -> None:
    graph = import_time_graph()
    cycles = set()
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.add(" -> ".join((importer, *back)))
    assert sorted(cycles) == []


def test_the_cycle_check_tells_late_imports_apart(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import os\n"
        "def f():\n    import keel.server.app\n"
        "class C:\n    def g(self):\n        from keel import cli\n"
        "h = lambda: __import__('x')\n"
    )
    assert function_import_lines(source) == {3, 6}
    assert module_path("keel.store") == SRC / "store" / "__init__.py"
    assert module_path("keel.errors") == SRC / "errors.py"

"""Model packages stay out of ``import keel``, and import no library until used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "numpy", "polars", "sklearn", "skops", "xgboost", "lightgbm", "onnx")
HEAVY += ("onnxruntime", "torch", "cloudpickle", "pyarrow", "scipy")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_importing_the_models_package_and_every_flavor_loads_no_library() -> None:
    code = (
        "import keel.models\n"
        "from keel.models.flavors import FLAVORS, get_flavor\n"
        "for name in FLAVORS: get_flavor(name)\n"
        "import keel.models.enforcement, keel.models.example\n"
    )
    assert sorted(loaded_after(code) & set(HEAVY)) == []


def test_detection_imports_nothing_either() -> None:
    code = (
        "from keel.models.flavors import detect_flavor\n"
        "class M:\n    def predict(self, x): return x\n"
        "assert detect_flavor(M()) == 'python'\n"
    )
    assert sorted(loaded_after(code) & set(HEAVY)) == []


def test_the_per_library_modules_load_no_library_until_used() -> None:
    code = (
        "import keel\n"
        "for name in ('sklearn', 'xgboost', 'lightgbm', 'pytorch', 'onnx', 'pyfunc'):\n"
        "    getattr(keel, name).log_model\n"
        "keel.infer_signature\n"
    )
    assert sorted(loaded_after(code) & set(HEAVY)) == []

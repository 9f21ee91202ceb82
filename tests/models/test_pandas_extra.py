"""Without pandas, reading a model's table input says which extra brings it, instead of a
bare ``ModuleNotFoundError`` from deep inside ``keel.models``."""

from __future__ import annotations

import subprocess
import sys

MISSING = """
import sys
sys.modules["pandas"] = None  # as if it were not installed
from keel.errors import MissingExtra
from keel.models.inputs import to_frame
try:
    to_frame({"a": [1, 2]})
except MissingExtra as exc:
    print(exc)
else:
    raise SystemExit("no MissingExtra")
"""


def test_a_table_input_without_pandas_names_the_extra() -> None:
    done = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Reading a model's table input needs the pandas extra: pip install 'keel-mlops[pandas]'"
    )

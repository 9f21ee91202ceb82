"""``keel-model.json``: round-trips, and every field refused with its name when wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keel.errors import InvalidArgument
from keel.models import ColumnSpec, FileEntry, ModelManifest, Signature

DIGEST = "ab" * 32


def manifest_dict(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format_version": 1,
        "flavor": "sklearn",
        "flavors": {"sklearn": {"file": "model.skops", "serialization": "skops"}},
        "signature": {
            "inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "float64"}]},
            "outputs": None,
        },
        "input_example": "input_example.json",
        "python_version": "3.11.7",
        "requirements": ["scikit-learn==1.5.0", "skops>=0.9,<1", "torch[cpu]==2.13.0"],
        "files": {
            "model.skops": {"size": 10, "blake3": DIGEST},
            "input_example.json": {"size": 3, "blake3": DIGEST},
        },
        "created": 1_700_000_000_000,
        "source_run_id": "0123456789abcdef0123456789abcdef",
        "keel_version": "0.1.0",
        "metadata": {"team": "risk", "threshold": 0.5},
    }
    base.update(changes)
    return base


def parse(raw: dict[str, Any]) -> ModelManifest:
    return ModelManifest.from_json(json.dumps(raw))


def test_round_trips() -> None:
    manifest = parse(manifest_dict())
    assert manifest.signature == Signature([ColumnSpec("a", "float64")])
    assert manifest.files["model.skops"] == FileEntry(10, DIGEST)
    assert ModelManifest.from_json(manifest.to_json()) == manifest
    assert json.loads(manifest.to_json()) == manifest_dict()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"format_version": 2}, "format_version"),
        ({"format_version": True}, "format_version"),
        ({"flavor": "pytorch"}, "flavor"),
        ({"flavors": {}}, "flavors"),
        ({"flavors": {"Bad.Name": {}}, "flavor": "Bad.Name"}, "flavors"),
        ({"flavors": {"sklearn": []}}, "flavors['sklearn']"),
        ({"flavors": {"sklearn": {"file": "../model.pkl"}}}, "flavors['sklearn'].file"),
        ({"flavors": {"sklearn": {"file": "/etc/passwd"}}}, "flavors['sklearn'].file"),
        ({"flavors": {"sklearn": {"file": "other.pkl"}}}, "not one of the package's files"),
        ({"signature": {"inputs": 5}}, "signature inputs"),
        ({"input_example": "missing.json"}, "input_example"),
        ({"python_version": "2.7"}, "python_version"),
        ({"requirements": "numpy"}, "requirements"),
        ({"requirements": ["--index-url=http://evil"]}, "requirements[0]"),
        ({"requirements": ["numpy @ https://evil/numpy.whl"]}, "requirements[0]"),
        ({"requirements": ["numpy; os_name=='nt'"]}, "requirements[0]"),
        ({"files": {"../x": {"size": 1, "blake3": DIGEST}}}, "files '../x'"),
        ({"files": {"/abs": {"size": 1, "blake3": DIGEST}}}, "files '/abs'"),
        ({"files": {"a\\b": {"size": 1, "blake3": DIGEST}}}, "files 'a\\\\b'"),
        ({"files": {"keel-model.json": {"size": 1, "blake3": DIGEST}}}, "files"),
        ({"files": {"m": {"size": -1, "blake3": DIGEST}}}, "files 'm': size"),
        ({"files": {"m": {"size": 1, "blake3": "xyz"}}}, "files 'm': blake3"),
        ({"files": {"m": {"size": 1}}}, "files 'm'"),
        ({"created": "yesterday"}, "created"),
        ({"source_run_id": "../../runs"}, "source_run_id"),
        ({"keel_version": ""}, "keel_version"),
        ({"metadata": [1]}, "metadata"),
        ({"module": "os"}, "unknown fields"),
    ],
)
def test_each_field_is_validated(changes: dict[str, Any], field: str) -> None:
    raw = manifest_dict(**changes)
    if "files" in changes:
        raw["flavors"] = {"sklearn": {"serialization": "skops"}}
        raw["input_example"] = None
    with pytest.raises(InvalidArgument) as caught:
        parse(raw)
    assert field in caught.value.message


def test_missing_fields_are_named() -> None:
    raw = manifest_dict()
    del raw["files"], raw["created"]
    with pytest.raises(InvalidArgument, match=r"missing fields \['created', 'files'\]"):
        parse(raw)


@pytest.mark.parametrize("text", ["{", "[]", '{"created": NaN}'])
def test_text_that_is_not_a_manifest_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"keel-model\.json"):
        ModelManifest.from_json(text)

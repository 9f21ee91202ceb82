"""A missing optional dependency names the extra that brings it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from keel.errors import KeelError, MissingExtra
from keel.extras import require


def test_an_installed_module_is_returned() -> None:
    import json

    assert require("json", extra="none", purpose="Reading JSON") is json


def test_a_missing_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # what an absent package looks like
    with pytest.raises(MissingExtra) as caught:
        require("polars", extra="data", purpose="Reading a dataset table")
    assert str(caught.value) == (
        "Reading a dataset table needs the data extra: pip install 'keel-mlops[data]'"
    )
    assert isinstance(caught.value, KeelError)
    assert isinstance(caught.value, ImportError)
    assert caught.value.name == "polars"


def test_a_missing_parent_package_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.delitem(sys.modules, "pyarrow.parquet", raising=False)
    with pytest.raises(MissingExtra, match=r"keel-mlops\[data\]"):
        require("pyarrow.parquet", extra="data", purpose="Writing Parquet")


def test_a_broken_dependency_of_an_installed_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A library that is there but fails to import one of ITS dependencies is a broken
    # install, not a missing extra: the original error must reach the user.
    package = tmp_path / "keel_fake_lib.py"
    package.write_text("import keel_fake_dependency_that_is_absent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        require("keel_fake_lib", extra="x", purpose="Something")
    assert not isinstance(caught.value, MissingExtra)
    assert caught.value.name == "keel_fake_dependency_that_is_absent"

"""Each optional path says which extra to install when its library is missing.

A missing library is simulated the way Python sees one: ``sys.modules[name] = None``
makes ``import name`` raise ImportError naming it."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keel.errors import MissingExtra


def block(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def hint(extra: str) -> str:
    return f"needs the {extra} extra: pip install 'keel-mlops[{extra}]'"


def test_reading_a_table_without_polars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from keel.data.tables import read_table

    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    block(monkeypatch, "polars")
    with pytest.raises(MissingExtra) as caught:
        read_table(table)
    assert str(caught.value) == f"Reading a table file {hint('data')}"


def test_a_pandas_frame_without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from keel.data.tables import to_polars

    block(monkeypatch, "pyarrow")
    with pytest.raises(MissingExtra, match=r"Taking a pandas DataFrame as a table needs the data"):
        to_polars(pd.DataFrame({"a": [1]}))


def test_validating_without_pandera(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    from keel.data.schema_inference import infer_schema
    from keel.data.table_checks import validate_table

    df = pl.DataFrame({"a": [1, 2]})
    schema = infer_schema(df)
    block(monkeypatch, "pandera", "pandera.polars")
    with pytest.raises(MissingExtra, match=r"Validating a table against a schema needs the data"):
        validate_table(df, schema)


def test_a_yaml_schema_without_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    from keel.data.schema_inference import infer_schema

    schema = infer_schema(pl.DataFrame({"a": [1]}))
    block(monkeypatch, "yaml")
    with pytest.raises(MissingExtra, match=r"^Writing a schema as YAML needs the data extra"):
        schema.to_yaml()


def test_postgresql_without_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    from keel.store.sql.engine import make_engine

    block(monkeypatch, "psycopg")
    with pytest.raises(MissingExtra) as caught:
        make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert str(caught.value) == f"A PostgreSQL store (127.0.0.1) {hint('postgres')}"


@pytest.mark.parametrize(
    ("root", "library", "extra"), [("s3://bucket/keel", "s3fs", "s3"), ("gs://b/k", "gcsfs", "gcs")]
)
def test_an_object_store_root_without_its_library(
    monkeypatch: pytest.MonkeyPatch, root: str, library: str, extra: str
) -> None:
    from keel.artifacts.store import ArtifactStore

    loaded = importlib.import_module("fsspec.registry")._registry
    for protocol in ("s3", "s3a", "gs", "gcs"):  # forget classes an earlier test loaded
        monkeypatch.delitem(loaded, protocol, raising=False)
    block(monkeypatch, library)
    with pytest.raises(MissingExtra) as caught:
        ArtifactStore(root)
    scheme = root.partition("://")[0]
    assert str(caught.value) == f"An artifact root on {scheme}:// {hint(extra)}"


def test_the_cli_prints_the_hint_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from keel.cli.main import app

    for name in [n for n in os.environ if n.startswith("KEEL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    block(monkeypatch, "polars")
    result = CliRunner().invoke(
        app, ["data", "add", str(table), "-n", "t", "-t", str(tmp_path / "store")]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, MissingExtra), result.output
    assert "pip install 'keel-mlops[data]'" in str(result.exception)

"""Reading table files: each format by suffix, and a CSV that does not parse named by file,
line and reason."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from keel.data.tables import is_table, read_table, to_polars
from keel.errors import InvalidArgument, NotFound


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train.parquet", True),
        ("train.PQ", True),
        ("a/b/train.csv", True),
        ("train.csv.gz", True),
        ("train.tsv", True),
        ("train.tsv.gz", True),
        ("train.json", False),
        ("train.gz", False),
        ("csv", False),
    ],
)
def test_is_table_goes_by_suffix(name: str, expected: bool) -> None:
    assert is_table(name) is expected


def test_each_format_reads_the_same_table(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None], "x": [0.5, None, 2.0]})
    frame.write_parquet(tmp_path / "t.parquet")
    frame.write_csv(tmp_path / "t.csv")
    frame.write_csv(tmp_path / "t.tsv", separator="\t")
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress((tmp_path / "t.csv").read_bytes()))
    for name in ("t.parquet", "t.csv", "t.tsv", "t.csv.gz"):
        assert read_table(tmp_path / name).equals(frame), name


def test_a_type_that_changes_late_in_a_csv_widens_the_column(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i}\n" for i in range(20_000))
    (tmp_path / "late.csv").write_text(f"a,b\n{rows}x,1\n")
    table = read_table(tmp_path / "late.csv")
    assert table.schema == pl.Schema({"a": pl.String, "b": pl.Int64})
    assert table.height == 20_001


def test_dates_in_a_csv_read_as_dates(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("day,n\n2024-01-31,1\n2024-02-01,2\n")
    assert read_table(tmp_path / "d.csv").schema["day"] == pl.Date


def test_unnamed_trailing_columns_are_read_as_polars_names_them(tmp_path: Path) -> None:
    (tmp_path / "excel.csv").write_text("a,b,,\n1,2,,\n")
    assert read_table(tmp_path / "excel.csv").columns[:2] == ["a", "b"]


def test_a_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    assert read_table(tmp_path / "h.csv").columns == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    [
        ("extra.csv", b"a,b\n1,2\n3,4\n5,6,7\n8,9\n", 4, "3 fields where the header has 2"),
        ("quote.csv", b'a,b\n1,2\n3,"4\n5,6\n', 3, "a quoted field is never closed"),
        ("utf.csv", b"a,b\n1,2\n\xff\xfe,3\n", 3, "not valid UTF-8"),
        ("tab.tsv", b"a\tb\n1\t2\n3\t4\t5\n", 3, "3 fields where the header has 2"),
        ("multi.csv", b'a,b\n1,"two\nlines"\n2,3,4\n', 4, "3 fields where the header has 2"),
        ("twice.csv", b"a,b,a\n1,2,3\n", 1, "the header names column 'a' twice"),
    ],
)
def test_a_csv_that_does_not_parse_names_the_file_line_and_reason(
    tmp_path: Path, name: str, content: bytes, line: int, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidArgument) as caught:
        read_table(path)
    assert str(caught.value).startswith(f"{path}: line {line}: {reason}")


def test_a_gzipped_csv_names_the_line_too(tmp_path: Path) -> None:
    path = tmp_path / "g.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,4,5\n"))
    with pytest.raises(InvalidArgument, match=r"g\.csv\.gz: line 3: 3 fields"):
        read_table(path)


def test_an_empty_file_an_unknown_suffix_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InvalidArgument, match=r"empty\.csv: the file is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(InvalidArgument, match=r"t\.json: not a table file; expected one of"):
        read_table(tmp_path / "t.json")
    with pytest.raises(NotFound, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv")


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidArgument, match=r"bad\.parquet: not a readable Parquet file"):
        read_table(tmp_path / "bad.parquet")


# to_polars ---------------------------------------------------------------------------------


def test_a_polars_frame_is_taken_as_it_is() -> None:
    frame = pl.DataFrame({"a": [1]})
    assert to_polars(frame) is frame


def test_a_pandas_frame_becomes_polars_with_nan_as_null() -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": [1.0, float("nan")], "s": ["a", None]})
    converted = to_polars(frame)
    assert converted.schema == pl.Schema({"x": pl.Float64, "s": pl.String})
    assert converted.null_count().row(0) == (1, 1)


def test_anything_else_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"frame: expected a polars or pandas DataFrame, got"):
        to_polars([{"a": 1}], field="frame")


def test_taking_a_polars_frame_imports_no_pandas() -> None:
    code = (
        "import sys, polars as pl\n"
        "from keel.data.tables import to_polars\n"
        "to_polars(pl.DataFrame({'a': [1]}))\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"

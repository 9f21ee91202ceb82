"""Validating a table against a schema: each rule is caught with its column, rule, exact
count and sample; a clean table passes; a schema inferred from a table accepts it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest

from keel.data.schema import ColumnSchema, CustomCheck, DataSchema
from keel.data.schema_inference import infer_schema
from keel.data.table_checks import ValidationReport, Violation, validate_table

pytest.importorskip("pandera.polars")


def table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "income": [10.0, 20.5, None, 0.0, 99.0, 3.5],
            "plan": ["basic", "pro", "basic", None, "pro", "basic"],
            "code": ["AB1", "CD2", "EF3", "GH4", "IJ5", "KL6"],
            "day": [date(2024, 1, d) for d in range(1, 7)],
            "at": [datetime(2024, 1, 1, h, tzinfo=UTC) for h in range(6)],
            "active": [True, False, True, True, False, True],
        }
    )


def schema(
    *columns: ColumnSchema, checks: tuple[CustomCheck, ...] = (), **table: Any
) -> DataSchema:
    given = {c.name: c for c in columns}
    base = [
        ColumnSchema("id", "int", unique=True),
        ColumnSchema("income", "float", nullable=True, min=0),
        ColumnSchema("plan", "string", nullable=True, allowed=("basic", "pro")),
        ColumnSchema("code", "string"),
        ColumnSchema("day", "date"),
        ColumnSchema("at", "datetime"),
        ColumnSchema("active", "bool"),
    ]
    merged = [given.pop(c.name, c) for c in base] + list(given.values())
    return DataSchema(columns=tuple(merged), checks=checks, **table)


def only(report: ValidationReport) -> Violation:
    assert len(report.violations) == 1, report.render()
    return report.violations[0]


def test_a_clean_table_passes() -> None:
    report = validate_table(table(), schema())
    assert report.passed
    assert report.violations == ()
    assert report.render() == "passed: 0 errors, 0 warnings in 6 rows"


def test_a_schema_inferred_from_a_table_accepts_it() -> None:
    frame = table().with_columns(
        tier=pl.Series(["a", "b"] * 3, dtype=pl.Categorical),
        score=pl.Series([1.0, float("nan"), 2.0, 3.0, None, 4.0]),
        local=pl.Series([datetime(2024, 5, 1, h) for h in range(6)]).dt.replace_time_zone(
            "Europe/Oslo"
        ),
        tags=pl.Series([[1], [2], [3], [4], [5], [6]]),
    )
    report = validate_table(frame, infer_schema(frame))
    assert report.passed, report.render()
    assert report.violations == ()


@pytest.mark.parametrize(
    ("column", "change", "rule", "count", "sample"),
    [
        (
            ColumnSchema("id", "int"),
            pl.Series("id", [1, None, 3, None, 5, 6]),
            "not_null",
            2,
            [None, None],
        ),
        (
            ColumnSchema("income", "float"),
            pl.Series("income", [1.0, float("nan"), None, 2.0, 3.0, 4.0]),
            "not_null",
            2,
            ["nan", None],
        ),
        (None, pl.Series("income", [-1.0, 2.0, -3.0, 0.0, None, 5.0]), "min", 2, [-1.0, -3.0]),
        (
            ColumnSchema("income", "float", nullable=True, max=50),
            pl.Series("income", [10.0, 51.0, None, 50.0, 99.0, 3.5]),
            "max",
            2,
            [51.0, 99.0],
        ),
        (
            None,
            pl.Series("plan", ["basic", "team", "basic", None, "free", "team"]),
            "allowed",
            3,
            ["team", "free", "team"],
        ),
        (None, pl.Series("id", [1, 2, 2, 4, 4, 4]), "unique", 5, [2, 2, 4, 4, 4]),
        (
            ColumnSchema("day", "date", min="2024-01-03"),
            None,
            "min",
            2,
            ["2024-01-01", "2024-01-02"],
        ),
        (
            ColumnSchema("at", "datetime", max="2024-01-01T04:00:00+01:00"),
            None,
            "max",
            2,
            ["2024-01-01T04:00:00+00:00", "2024-01-01T05:00:00+00:00"],
        ),
        (
            ColumnSchema("active", "bool", allowed=(True,)),
            None,
            "allowed",
            2,
            [False, False],
        ),
    ],
)
def test_each_column_rule_is_caught(
    column: ColumnSchema | None, change: pl.Series | None, rule: str, count: int, sample: list[Any]
) -> None:
    frame = table() if change is None else table().with_columns(change)
    columns = () if column is None else (column,)
    violation = only(validate_table(frame, schema(*columns)))
    assert (violation.column, violation.rule, violation.severity) == (
        change_name(column, change),
        rule,
        "error",
    )
    assert violation.failing_rows == count
    assert list(violation.sample) == sample


def change_name(column: ColumnSchema | None, change: pl.Series | None) -> str:
    if column is not None:
        return column.name
    assert change is not None
    return change.name


@pytest.mark.parametrize(
    ("check", "column", "values", "count", "sample"),
    [
        (CustomCheck("c", "income", "greater_than", 5), None, None, 2, [0.0, 3.5]),
        (CustomCheck("c", "income", "greater_than_or_equal", 10), None, None, 2, [0.0, 3.5]),
        (CustomCheck("c", "income", "less_than", 20.5), None, None, 2, [20.5, 99.0]),
        (CustomCheck("c", "income", "less_than_or_equal", 20.5), None, None, 1, [99.0]),
        (CustomCheck("c", "income", "in_range", [3.5, 20.5]), None, None, 2, [0.0, 99.0]),
        (CustomCheck("c", "income", "not_equal", 0), None, None, 1, [0.0]),
        (CustomCheck("c", "plan", "not_equal", "pro"), None, None, 2, ["pro", "pro"]),
        (
            CustomCheck("c", "code", "str_matches", r"[A-Z]{2}[0-9]$"),
            "code",
            ["AB1", "ab2", "AB33", "CD4", "x", "EF5"],
            3,
            ["ab2", "AB33", "x"],
        ),
        (
            CustomCheck("c", "code", "str_length", [2, 3]),
            "code",
            ["AB1", "A", "ABCD", "CD", "x", "EF5"],
            3,
            ["A", "ABCD", "x"],
        ),
        (
            CustomCheck("c", "code", "str_length", [None, 1]),
            "code",
            ["AB1", "A", "ABCD", "CD", "x", "EF5"],
            4,
            ["AB1", "ABCD", "CD", "EF5"],
        ),
        (
            CustomCheck("c", "day", "less_than", "2024-01-05"),
            None,
            None,
            2,
            ["2024-01-05", "2024-01-06"],
        ),
    ],
)
def test_each_check_kind_is_caught(
    check: CustomCheck, column: str | None, values: list[Any] | None, count: int, sample: list[Any]
) -> None:
    frame = table() if column is None else table().with_columns(pl.Series(column, values))
    named = CustomCheck(f"my_{check.check}", check.column, check.check, check.value)
    violation = only(validate_table(frame, schema(checks=(named,))))
    assert (violation.column, violation.rule) == (check.column, f"my_{check.check}")
    assert violation.failing_rows == count
    assert list(violation.sample) == sample


def test_a_missing_column_and_an_extra_one() -> None:
    frame = table().drop("code").with_columns(note=pl.lit("x"))
    report = validate_table(frame, schema())
    assert [(v.column, v.rule, v.failing_rows) for v in report.violations] == [
        ("code", "present", 6),
        ("note", "extra_column", 0),
    ]
    assert not report.passed
    warned = validate_table(frame, schema(extra_columns="warning"))
    assert [v.rule for v in warned.warnings] == ["extra_column"]
    ignored = validate_table(frame, schema(extra_columns="ignore"))
    assert [v.rule for v in ignored.violations] == ["present"]


def test_a_wrong_dtype_is_reported_once_and_skips_the_value_rules() -> None:
    frame = table().with_columns(pl.col("income").cast(pl.String))
    checks = (CustomCheck("positive", "income", "greater_than", 0),)
    violation = only(validate_table(frame, schema(checks=checks)))
    assert (violation.column, violation.rule, violation.failing_rows) == ("income", "dtype", 6)
    assert violation.message == "expected float, got String"


def test_a_wrong_dtype_still_checks_nulls_and_uniqueness() -> None:
    frame = table().with_columns(pl.Series("id", ["a", "a", None, "b", "c", "d"]))
    report = validate_table(frame, schema())
    assert [(v.rule, v.failing_rows) for v in report.violations] == [
        ("dtype", 6),
        ("not_null", 1),
        ("unique", 2),
    ]


def test_dtypes_accept_every_width() -> None:
    frame = table().with_columns(
        pl.col("id").cast(pl.UInt16),
        pl.col("income").cast(pl.Float32),
        pl.col("plan").cast(pl.Categorical),
        pl.col("at").dt.replace_time_zone(None).dt.cast_time_unit("ms"),
    )
    assert validate_table(frame, schema()).passed
    ints_as_floats = table().with_columns(pl.Series("income", [1, 2, None, 4, 5, 6]))
    assert validate_table(ints_as_floats, schema()).passed


def test_nulls_are_not_duplicates() -> None:
    frame = table().with_columns(pl.Series("id", [1, None, None, 4, 5, 6]))
    report = validate_table(frame, schema(ColumnSchema("id", "int", nullable=True, unique=True)))
    assert report.passed


def test_datetimes_compare_in_utc_whatever_their_zone() -> None:
    oslo = timezone(timedelta(hours=1))
    frame = table().with_columns(pl.col("at").dt.convert_time_zone("Europe/Oslo"))
    bound = ColumnSchema("at", "datetime", min=datetime(2024, 1, 1, 3, tzinfo=oslo))
    violation = only(validate_table(frame, schema(bound)))
    assert (violation.rule, violation.failing_rows) == ("min", 2)
    assert violation.sample == ("2024-01-01T01:00:00+01:00", "2024-01-01T02:00:00+01:00")


def test_row_count_bounds() -> None:
    report = validate_table(table(), schema(min_rows=10, max_rows=20))
    assert [(v.column, v.rule, v.message) for v in report.violations] == [
        (None, "min_rows", "6 rows, expected at least 10")
    ]
    report = validate_table(table(), schema(max_rows=5, severity={"max_rows": "warning"}))
    assert report.passed
    assert [(v.rule, v.severity) for v in report.warnings] == [("max_rows", "warning")]


def test_a_warning_does_not_fail_the_table() -> None:
    frame = table().with_columns(pl.Series("plan", ["basic", "team", None, None, "pro", "x"]))
    plan = ColumnSchema(
        "plan", "string", nullable=True, allowed=("basic", "pro"), severity={"allowed": "warning"}
    )
    checks = (CustomCheck("short", "code", "str_length", [None, 2], severity="warning"),)
    report = validate_table(frame, schema(plan, checks=checks))
    assert report.passed
    assert report.errors == ()
    assert [(v.column, v.rule, v.failing_rows) for v in report.warnings] == [
        ("plan", "allowed", 2),
        ("code", "short", 6),
    ]


def test_counts_are_exact_and_samples_come_in_row_order() -> None:
    rows = 10_000
    frame = pl.DataFrame(
        {"x": [float(i % 100) - 10.0 for i in range(rows)], "y": list(range(rows))}
    )
    rules = DataSchema(
        columns=(ColumnSchema("x", "float", min=0), ColumnSchema("y", "int")),
        checks=(CustomCheck("small", "y", "less_than", 9_000),),
    )
    report = validate_table(frame, rules)
    x, y = report.violations
    assert (x.rule, x.failing_rows) == ("min", 1_000)
    assert x.sample == (-10.0, -9.0, -8.0, -7.0, -6.0)
    assert x.sample_rows == (0, 1, 2, 3, 4)
    assert (y.rule, y.failing_rows, y.sample) == ("small", 1_000, (9000, 9001, 9002, 9003, 9004))


def test_many_rules_on_one_table_are_all_collected() -> None:
    frame = table().with_columns(
        pl.Series("id", [1, 1, 3, None, 5, 6]),
        pl.Series("income", [-1.0, 2.0, None, 3.0, 4.0, 5.0]),
        pl.Series("plan", ["basic", "nope", None, None, "pro", "basic"]),
    )
    checks = (CustomCheck("big", "income", "greater_than", 2),)
    report = validate_table(frame, schema(checks=checks, min_rows=7))
    assert [(v.column, v.rule, v.failing_rows) for v in report.violations] == [
        (None, "min_rows", 0),
        ("id", "not_null", 1),
        ("id", "unique", 2),
        ("income", "min", 1),
        ("income", "big", 2),
        ("plan", "allowed", 1),
    ]
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert (data["passed"], data["error_count"], data["warning_count"]) == (False, 6, 0)
    assert data["violations"][4] == {
        "column": "income",
        "rule": "big",
        "severity": "error",
        "failing_rows": 2,
        "sample": [-1.0, 2.0],
        "sample_rows": [0, 1],
        "message": "not greater than 2",
    }
    lines = report.render().splitlines()
    assert lines[0] == "failed: 6 errors, 0 warnings in 6 rows"
    assert lines[5].split()[:5] == ["error", "income", "big", "2", "rows"]
    assert lines[5].endswith("not greater than 2; sample: -1, 2")
    assert lines[1].split()[:4] == ["error", "(table)", "min_rows", "-"]


def test_a_pandas_frame_is_validated_too() -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"id": [1.0, None]})
    column = ColumnSchema("id", "int", nullable=True)
    violation = only(validate_table(frame, DataSchema((column,))))
    assert violation.rule == "dtype"
    assert "pandas keeps an int column with missing values as float" in violation.message

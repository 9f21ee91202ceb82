"""Data schemas: the text forms round-trip, a bad file names its field and rule, and a
schema inferred from a table describes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from keel.data.schema import ColumnSchema, CustomCheck, DataSchema
from keel.data.schema_inference import infer_schema
from keel.errors import InvalidArgument


def full_schema() -> DataSchema:
    return DataSchema(
        columns=(
            ColumnSchema("id", "int", unique=True, min=1),
            ColumnSchema("income", "float", nullable=True, min=0, max=1e7),
            ColumnSchema("plan", "string", allowed=("basic", "pro", "yes")),
            ColumnSchema("tier", "category", nullable=True, severity={"not_null": "warning"}),
            ColumnSchema("active", "bool"),
            ColumnSchema("day", "date", min=date(2020, 1, 1)),
            ColumnSchema("at", "datetime", max=datetime(2030, 1, 1, tzinfo=UTC)),
            ColumnSchema("blob", "any", nullable=True),
        ),
        checks=(
            CustomCheck("positive_income", "income", "greater_than", 0),
            CustomCheck("sane_id", "id", "in_range", [1, 10**9], severity="warning"),
            CustomCheck("plan_format", "plan", "str_matches", r"[a-z]+$"),
            CustomCheck("plan_length", "plan", "str_length", [2, None]),
            CustomCheck("not_epoch", "day", "not_equal", "1970-01-01"),
        ),
        min_rows=10,
        max_rows=1_000_000,
        extra_columns="warning",
        severity={"max_rows": "warning"},
    )


def test_yaml_round_trips() -> None:
    pytest.importorskip("yaml")
    schema = full_schema()
    text = schema.to_yaml()
    assert "'yes'" in text  # quoted, so YAML does not read it back as true
    assert DataSchema.from_text(text, source="schema.yaml") == schema


def test_json_round_trips_whatever_the_file_is_called() -> None:
    schema = full_schema()
    assert DataSchema.from_text(schema.to_json(), source="schema.json") == schema
    assert DataSchema.from_text(schema.to_json(), source="inline") == schema
    assert DataSchema.from_dict(schema.to_dict()) == schema


def test_values_are_converted_to_the_column_dtype() -> None:
    schema = full_schema()
    assert schema.column("day").min == date(2020, 1, 1)
    assert schema.checks[1].value == (1, 10**9)
    assert schema.checks[4].value == date(1970, 1, 1)
    assert schema.column("tier").severity_of("not_null") == "warning"
    assert schema.column("tier").severity_of("dtype") == "error"
    assert schema.to_dict()["columns"][5]["min"] == "2020-01-01"


def test_a_minimal_schema_takes_the_defaults() -> None:
    schema = DataSchema.from_text('{"columns": [{"name": "a", "dtype": "int"}]}')
    column = schema.column("a")
    assert (column.nullable, column.unique, column.min, column.allowed) == (
        False,
        False,
        None,
        None,
    )
    assert (schema.extra_columns, schema.min_rows, schema.checks) == ("error", None, ())


COLUMNS = "columns:\n  - {name: a, dtype: int}\n  - {name: s, dtype: string}\n"


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        (
            "columns:\n  - {name: a, dtype: int}\n  - {name: b, dtype: integer}\n",
            "columns[1].dtype",
            "must be one of int, float, string, bool, date, datetime, category, any, got 'integer'",
        ),
        (
            "columns:\n  - {name: a, dtype: int, colour: red}\n",
            "columns[0].colour",
            "unknown key; expected one of name, dtype, nullable",
        ),
        ("columns:\n  - {dtype: int}\n", "columns[0].name", "is required"),
        (
            "columns:\n  - {name: a, dtype: int, min: low}\n",
            "columns[0].min",
            "must be a whole number, got 'low'",
        ),
        (
            "columns:\n  - {name: a, dtype: string, min: a}\n",
            "columns[0].min",
            "only for int, float, date, datetime columns",
        ),
        (
            "columns:\n  - {name: a, dtype: int, min: 5, max: 1}\n",
            "columns[0].max",
            "must be at least min (5), got 1",
        ),
        (
            "columns:\n  - {name: a, dtype: string, allowed: [yes, no]}\n",
            "columns[0].allowed[0]",
            "must be a string, got True (quote it in YAML)",
        ),
        (
            "columns:\n  - {name: a, dtype: int, nullable: maybe}\n",
            "columns[0].nullable",
            "must be true or false, got 'maybe'",
        ),
        (
            "columns:\n  - {name: a, dtype: int, severity: {min: fatal}}\n",
            "columns[0].severity.min",
            "must be error or warning",
        ),
        (
            "columns:\n  - {name: a, dtype: int, severity: {colour: warning}}\n",
            "columns[0].severity.colour",
            "unknown rule",
        ),
        (
            "columns:\n  - {name: a, dtype: int}\n  - {name: a, dtype: int}\n",
            "columns[1].name",
            "'a' is listed twice",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: a, check: is_big, value: 1}\n",
            "checks[0].check",
            "must be one of greater_than,",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: zz, check: less_than, value: 1}\n",
            "checks[0].column",
            "'zz' is not one of the schema's columns",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: s, check: greater_than, value: 1}\n",
            "checks[0].check",
            "greater_than is only for int, float, date, datetime columns",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: a, check: str_length, value: [1, 2]}\n",
            "checks[0].check",
            "str_length is only for string or category columns",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: s, check: str_matches, value: '(?=x)'}\n",
            "checks[0].value",
            "not a valid regular expression (look-around",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: a, check: in_range, value: [5, 1]}\n",
            "checks[0].value",
            "the low end 5 is above the high end 1",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: a, check: in_range, value: 3}\n",
            "checks[0].value",
            "must be a list of two values",
        ),
        (
            COLUMNS + "checks:\n  - {name: min, column: a, check: less_than, value: 1}\n",
            "checks[0].name",
            "'min' is a built-in rule",
        ),
        (
            COLUMNS + "checks:\n  - {name: c, column: a, check: less_than}\n",
            "checks[0].value",
            "is required",
        ),
        ("min_rows: -1\ncolumns: []\n", "min_rows", "must be a whole number of rows"),
        ("min_rows: 5\nmax_rows: 1\ncolumns: []\n", "max_rows", "must be at least min_rows"),
        ("extra_columns: maybe\ncolumns: []\n", "extra_columns", "must be error, warning or"),
        ("version: 2\ncolumns: []\n", "version", "this Keel reads schema version 1"),
        ("colour: red\ncolumns: []\n", "colour", "unknown key"),
        ("columns: {a: int}\n", "columns", "must be a list of columns"),
    ],
)
def test_a_bad_schema_names_the_file_field_and_rule(text: str, field: str, rule: str) -> None:
    pytest.importorskip("yaml")
    with pytest.raises(InvalidArgument) as caught:
        DataSchema.from_text(text, source="conf/schema.yaml")
    assert str(caught.value).startswith(f"conf/schema.yaml: {field}: {rule}")


def test_a_yaml_syntax_error_names_the_line() -> None:
    pytest.importorskip("yaml")
    text = "columns:\n  - name: a\n    dtype: int\n  - {name: b, dtype: int\n"
    with pytest.raises(InvalidArgument, match=r"^s\.yaml: line 5: not valid YAML \("):
        DataSchema.from_text(text, source="s.yaml")


def test_a_json_syntax_error_names_the_line() -> None:
    text = '{\n  "columns": [\n    {"name": "a",, "dtype": "int"}\n  ]\n}\n'
    with pytest.raises(InvalidArgument, match=r"^s\.json: line 3: not valid JSON \("):
        DataSchema.from_text(text, source="s.json")


def test_a_schema_that_is_not_a_mapping() -> None:
    with pytest.raises(InvalidArgument, match=r"^s\.json: a schema must be a mapping"):
        DataSchema.from_text("[1, 2]", source="s.json")


def test_building_a_bad_schema_in_python_fails_early() -> None:
    with pytest.raises(InvalidArgument, match=r"column 'a': dtype: must be one of"):
        ColumnSchema("a", "integer")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"schema: checks\[0\].column: 'b' is not one"):
        DataSchema((ColumnSchema("a", "int"),), (CustomCheck("c", "b", "less_than", 1),))


# inference ---------------------------------------------------------------------------------


def reference() -> pl.DataFrame:
    rows = 60
    return pl.DataFrame(
        {
            "id": list(range(1, rows + 1)),
            "plan": ["basic", "pro", "team"] * (rows // 3),
            "city": [f"city {i}" for i in range(rows)],
            "income": [float(i) * 1.5 if i % 7 else None for i in range(rows)],
            "score": [0.5] * (rows - 1) + [float("nan")],
            "tier": pl.Series(["a", "b"] * (rows // 2), dtype=pl.Categorical),
            "active": [True, False] * (rows // 2),
            "day": [date(2024, 1, 1 + i % 28) for i in range(rows)],
            "at": [datetime(2024, 1, 1, i % 24, tzinfo=UTC) for i in range(rows)],
            "tags": [[i] for i in range(rows)],
        }
    )


def test_inference_describes_the_reference_table() -> None:
    schema = infer_schema(reference())
    by_name = {c.name: c for c in schema.columns}
    assert {n: c.dtype for n, c in by_name.items()} == {
        "id": "int",
        "plan": "string",
        "city": "string",
        "income": "float",
        "score": "float",
        "tier": "category",
        "active": "bool",
        "day": "date",
        "at": "datetime",
        "tags": "any",
    }
    assert [n for n, c in by_name.items() if c.nullable] == ["income", "score"]
    assert (by_name["id"].min, by_name["id"].max, by_name["id"].unique) == (1, 60, True)
    assert by_name["plan"].allowed == ("basic", "pro", "team")
    assert by_name["tier"].allowed == ("a", "b")
    assert by_name["city"].allowed is None  # sixty different values: free text
    assert by_name["city"].unique
    assert not by_name["income"].unique  # floats that differ are not identifiers
    assert (by_name["income"].min, by_name["income"].max) == (1.5, 88.5)
    assert (by_name["score"].min, by_name["score"].max) == (0.5, 0.5)
    assert by_name["day"].min == date(2024, 1, 1)
    assert by_name["at"].max == datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert DataSchema.from_dict(schema.to_dict()) == schema


def test_categorical_max_bounds_the_allowed_values() -> None:
    schema = infer_schema(reference(), categorical_max=2)
    assert schema.column("plan").allowed is None
    assert schema.column("tier").allowed == ("a", "b")


def test_a_column_with_infinities_gets_no_bounds() -> None:
    schema = infer_schema(pl.DataFrame({"x": [1.0, float("inf"), 2.0]}))
    assert (schema.column("x").min, schema.column("x").max) == (None, None)

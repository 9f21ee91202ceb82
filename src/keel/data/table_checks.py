"""Checking a table against a :class:`~keel.data.schema.DataSchema`.

>>> report = validate_table(frame, schema)                   # doctest: +SKIP
>>> report.passed, len(report.errors), len(report.warnings)  # doctest: +SKIP
>>> print(report.render())                                  # doctest: +SKIP

Value rules (``not_null``, ``min``, ``max``, ``allowed`` and the custom checks) run in
pandera's polars backend, lazily, so every failing row of every rule is collected; Keel
counts them per column and rule. The table's shape (missing and extra columns, dtypes,
row counts) and ``unique`` are checked with polars directly: the dtype vocabulary is wider
than one polars type, and pandera would count nulls as duplicates, which SQL and Keel do
not. A column of the wrong dtype is reported once, and its value rules are not run.

NaN counts as null (as in pandera), so it fails ``not_null`` and no value rule. Datetime
columns and bounds are compared in UTC; a naive one is taken to be in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keel.data.profile import json_value
from keel.data.schema import (
    COLUMN_RULES,
    ColumnSchema,
    CustomCheck,
    DataSchema,
    Severity,
)
from keel.data.schema_inference import accepts
from keel.extras import require

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

SAMPLE_SIZE = 5
_PANDERA_RULES = {"not_nullable": "not_null"}


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by one column (``column`` None: by the table).

    ``failing_rows`` is exact: the rows a value rule found at fault; every row for a
    missing column or a wrong dtype; 0 for an extra column and the row-count rules.
    ``sample`` holds up to five of the failing values (JSON-safe: dates as ISO text),
    ``sample_rows`` their row positions."""

    column: str | None
    rule: str
    severity: Severity
    failing_rows: int
    sample: tuple[Any, ...]
    message: str
    sample_rows: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "failing_rows": self.failing_rows,
            "sample": list(self.sample),
            "sample_rows": list(self.sample_rows),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    row_count: int
    violations: tuple[Violation, ...]

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "error")

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "warning")

    @property
    def passed(self) -> bool:
        """True when no error-level rule is broken (warnings may be)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "row_count": self.row_count,
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "violations": [v.to_dict() for v in self.violations],
        }

    def render(self) -> str:
        """Plain text: a headline, then one line per violation (severity, column, rule,
        failing rows, what is wrong, a sample of the failing values)."""
        errors, warnings = len(self.errors), len(self.warnings)
        verdict = "passed" if self.passed else "failed"
        lines = [
            f"{verdict}: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)} in {self.row_count:,} rows"
        ]
        rows = [
            (
                v.severity,
                "(table)" if v.column is None else v.column,
                v.rule,
                _rows(v.failing_rows),
                v.message + _sample_text(v),
            )
            for v in self.violations
        ]
        if rows:
            widths = [max(len(r[k]) for r in rows) for k in range(4)]
            for r in rows:
                lead = "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True))
                lines.append(f"{lead}  {r[4]}")
        return "\n".join(lines)


def validate_table(df: pl.DataFrame, schema: DataSchema) -> ValidationReport:
    """Every rule of ``schema`` that ``df`` (a polars or pandas DataFrame) breaks: the
    table's row-count rules first, then the schema's columns in order (each column's rules
    in ``COLUMN_RULES`` order, then its checks), then columns the schema does not list."""
    from keel.data.tables import to_polars

    require("pandera.polars", extra="data", purpose="Validating a table against a schema")
    df = to_polars(df)
    by_rule: dict[_RuleKey, Violation] = {}
    checkable: list[ColumnSchema] = []
    for column in schema.columns:
        if column.name not in df.schema:
            message = "the column is missing"
            by_rule[(column.name, "present")] = _violation(column, "present", df.height, message)
        elif not accepts(column.dtype, df.schema[column.name]):
            got = df.schema[column.name]
            message = f"expected {column.dtype}, got {got}"
            if column.dtype == "int" and got.is_float():
                message += " (pandas keeps an int column with missing values as float)"
            by_rule[(column.name, "dtype")] = _violation(column, "dtype", df.height, message)
            checkable.append(_untyped(column))
        else:
            checkable.append(column)

    typed = {c.name for c in checkable if c.dtype == schema.column(c.name).dtype}
    checks = [c for c in schema.checks if c.column in typed]
    prepared = _prepared(df, checkable)
    by_rule.update(_pandera_failures(df, prepared, checkable, checks))
    by_rule.update(_duplicates(df, prepared, checkable))

    order = {c.name: k for k, c in enumerate(schema.columns)}
    rules = {rule: k for k, rule in enumerate(COLUMN_RULES)}
    rules.update({c.name: len(COLUMN_RULES) + k for k, c in enumerate(schema.checks)})
    in_order = sorted(by_rule, key=lambda key: (order[key[0]], rules[key[1]]))
    found = [*_row_count(df, schema), *(by_rule[key] for key in in_order)]
    return ValidationReport(row_count=df.height, violations=(*found, *_extra_columns(df, schema)))


# shape -------------------------------------------------------------------------------------


def _row_count(df: pl.DataFrame, schema: DataSchema) -> list[Violation]:
    out = []
    if schema.min_rows is not None and df.height < schema.min_rows:
        message = f"{df.height:,} rows, expected at least {schema.min_rows:,}"
        out.append(Violation(None, "min_rows", schema.severity_of("min_rows"), 0, (), message))
    if schema.max_rows is not None and df.height > schema.max_rows:
        message = f"{df.height:,} rows, expected at most {schema.max_rows:,}"
        out.append(Violation(None, "max_rows", schema.severity_of("max_rows"), 0, (), message))
    return out


def _extra_columns(df: pl.DataFrame, schema: DataSchema) -> list[Violation]:
    if schema.extra_columns == "ignore":
        return []
    expected = {c.name for c in schema.columns}
    return [
        Violation(name, "extra_column", schema.extra_columns, 0, (), "not in the schema")
        for name in df.columns
        if name not in expected
    ]


def _untyped(column: ColumnSchema) -> ColumnSchema:
    """``column`` without the rules that need its values to be of its dtype."""
    return ColumnSchema(
        column.name, "any", column.nullable, unique=column.unique, severity=column.severity
    )


def _prepared(df: pl.DataFrame, columns: Iterable[ColumnSchema]) -> pl.DataFrame:
    """The checked columns as the rules compare them: NaN as null, categories as text,
    datetimes in UTC without a zone, decimals as floats."""
    import polars as pl

    exprs = []
    for column in columns:
        dtype = df.schema[column.name]
        col = pl.col(column.name)
        if dtype.is_float():
            exprs.append(col.fill_nan(None))
        elif dtype.is_decimal():
            exprs.append(col.cast(pl.Float64))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            exprs.append(col.cast(pl.String))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            exprs.append(col.dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        else:
            exprs.append(col)
    return df.select(exprs)


# value rules -------------------------------------------------------------------------------

_RuleKey = tuple[str, str]
"""(column, rule): one violation each."""


def _pandera_failures(
    df: pl.DataFrame,
    prepared: pl.DataFrame,
    columns: list[ColumnSchema],
    checks: list[CustomCheck],
) -> dict[_RuleKey, Violation]:
    import pandera.polars as pa
    import polars as pl
    from pandera.config import ValidationDepth, config_context

    rules: dict[tuple[str, int], tuple[str, Severity, str]] = {}
    pandera_columns = {}
    for column in columns:
        built: list[tuple[pa.Check, str, Severity, str]] = list(_column_checks(column))
        built += [
            (_custom_check(c), c.name, c.severity, _describe(c))
            for c in checks
            if c.column == column.name
        ]
        for number, (_, rule, severity, message) in enumerate(built):
            rules[(column.name, number)] = (rule, severity, message)
        pandera_columns[column.name] = pa.Column(
            None, checks=[b[0] for b in built], nullable=column.nullable
        )
    if not pandera_columns:
        return {}
    schema = pa.DataFrameSchema(pandera_columns, strict=False, coerce=False)
    # Set here so that no environment variable (PANDERA_VALIDATION_ENABLED=False) can turn
    # the checks off or make them schema-only.
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(prepared, lazy=True)
            return {}
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
    grouped = (
        cases.lazy()
        .group_by("column", "check", "check_number")
        .agg(
            pl.col("index").drop_nulls().n_unique().alias("rows"),
            pl.col("index").drop_nulls().unique().sort().head(SAMPLE_SIZE).alias("sample"),
            pl.col("failure_case").first().alias("first"),
        )
        .collect()
    )
    out: dict[_RuleKey, Violation] = {}
    by_name = {c.name: c for c in columns}
    for group in grouped.iter_rows(named=True):
        name, number = group["column"], group["check_number"]
        column = by_name[name]
        if number is not None and (name, number) in rules:
            rule, severity, message = rules[(name, number)]
        else:
            rule = _PANDERA_RULES.get(group["check"], group["check"])
            severity = column.severity_of(rule)
            message = "null (or NaN) in a column that is not nullable"
            if rule != "not_null":
                message = f"pandera check {group['check']} failed"
        rows, count = tuple(group["sample"]), int(group["rows"])
        if count == 0:
            # A check that could not run at all reports its error instead of rows.
            message = f"could not be checked: {group['first']}"
            count = df.height
        out[(name, rule)] = _violation(column, rule, count, message, rows, df, severity)
    return out


def _column_checks(column: ColumnSchema) -> Iterable[tuple[pa.Check, str, Severity, str]]:
    import pandera.polars as pa

    if column.min is not None:
        bound = _bound(column.min)
        yield (
            pa.Check.greater_than_or_equal_to(bound),
            "min",
            column.severity_of("min"),
            f"below the minimum {_text(column.min)}",
        )
    if column.max is not None:
        bound = _bound(column.max)
        yield (
            pa.Check.less_than_or_equal_to(bound),
            "max",
            column.severity_of("max"),
            f"above the maximum {_text(column.max)}",
        )
    if column.allowed is not None:
        shown = ", ".join(_text(v) for v in column.allowed[:10])
        more = ", ..." if len(column.allowed) > 10 else ""
        yield (
            pa.Check.isin(list(column.allowed)),
            "allowed",
            column.severity_of("allowed"),
            f"not one of the allowed values ({shown}{more})",
        )


def _custom_check(check: CustomCheck) -> pa.Check:
    import pandera.polars as pa

    value = check.value
    if check.check == "in_range":
        low, high = (_bound(v) for v in value)
        return pa.Check.in_range(low, high, include_min=True, include_max=True)
    if check.check == "str_length":
        return pa.Check.str_length(value[0], value[1])
    build: dict[str, Callable[[Any], pa.Check]] = {
        "greater_than": pa.Check.greater_than,
        "greater_than_or_equal": pa.Check.greater_than_or_equal_to,
        "less_than": pa.Check.less_than,
        "less_than_or_equal": pa.Check.less_than_or_equal_to,
        "not_equal": pa.Check.not_equal_to,
        "str_matches": pa.Check.str_matches,
    }
    return build[check.check](value if check.check == "str_matches" else _bound(value))


def _describe(check: CustomCheck) -> str:
    value = check.value
    if check.check == "in_range":
        return f"not in the range [{_text(value[0])}, {_text(value[1])}]"
    if check.check == "str_length":
        low, high = value
        if high is None:
            return f"shorter than {low} characters"
        if low is None:
            return f"longer than {high} characters"
        return f"not {low} to {high} characters long"
    if check.check == "str_matches":
        return f"does not match {value!r}"
    words = {
        "greater_than": "not greater than",
        "greater_than_or_equal": "not greater than or equal to",
        "less_than": "not less than",
        "less_than_or_equal": "not less than or equal to",
        "not_equal": "equal to",
    }
    return f"{words[check.check]} {_text(value)}"


def _duplicates(
    df: pl.DataFrame, prepared: pl.DataFrame, columns: Iterable[ColumnSchema]
) -> dict[_RuleKey, Violation]:
    import polars as pl

    unique = [c for c in columns if c.unique]
    if not unique:
        return {}
    exprs = []
    for k, column in enumerate(unique):
        col = pl.col(column.name)
        shared = col.is_duplicated() & col.is_not_null()
        exprs += [
            shared.sum().alias(f"{k}:rows"),
            shared.arg_true().head(SAMPLE_SIZE).implode().alias(f"{k}:sample"),
        ]
    found = prepared.lazy().select(exprs).collect().row(0, named=True)
    out = {}
    for k, column in enumerate(unique):
        count = int(found[f"{k}:rows"])
        if count:
            rows = tuple(found[f"{k}:sample"])
            message = "shares its value with another row"
            out[(column.name, "unique")] = _violation(column, "unique", count, message, rows, df)
    return out


# values ------------------------------------------------------------------------------------


def _violation(
    column: ColumnSchema,
    rule: str,
    count: int,
    message: str,
    rows: tuple[int, ...] = (),
    df: Any = None,
    severity: Severity | None = None,
) -> Violation:
    sample: tuple[Any, ...] = ()
    if rows:
        values = df.get_column(column.name).gather(list(rows)).to_list()
        sample = tuple(json_value(v) for v in values)
    return Violation(
        column=column.name,
        rule=rule,
        severity=severity or column.severity_of(rule),
        failing_rows=count,
        sample=sample,
        message=message,
        sample_rows=tuple(int(r) for r in rows),
    )


def _bound(value: Any) -> Any:
    """A schema value as the prepared columns hold it (datetimes: UTC, no zone)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _text(value: Any) -> str:
    plain = json_value(value)
    return repr(plain) if isinstance(plain, str) else str(plain)


def _rows(count: int) -> str:
    return "-" if count == 0 else f"{count:,} row{'s' * (count != 1)}"


def _sample_text(violation: Violation) -> str:
    """``; sample: ...`` (floats to 6 digits), or the rows of a sample of nulls."""
    sample = violation.sample
    if not sample:
        return ""
    if all(v is None or v == "nan" for v in sample):
        return f"; at rows {', '.join(str(r) for r in violation.sample_rows)}"
    shown = (f"{v:.6g}" if isinstance(v, float) else _text(v) for v in sample)
    return f"; sample: {', '.join(shown)}"

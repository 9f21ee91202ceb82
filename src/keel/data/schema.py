"""What a table should look like: its columns, their types and values, and custom checks.

A schema is plain data, written by hand or inferred from a reference table, and kept as
YAML or JSON next to the data::

    version: 1
    min_rows: 1000
    columns:
      - {name: customer_id, dtype: int, unique: true}
      - {name: income, dtype: float, nullable: true, min: 0}
      - {name: plan, dtype: string, allowed: [basic, pro], severity: {allowed: warning}}
    checks:
      - {name: sane_income, column: income, check: less_than, value: 10000000}

>>> text = Path("schema.yaml").read_text()                       # doctest: +SKIP
>>> schema = DataSchema.from_text(text, source="schema.yaml")   # doctest: +SKIP
>>> schema = infer_schema(reference_frame)  # from keel.data.schema_inference; doctest: +SKIP
>>> Path("schema.yaml").write_text(schema.to_yaml())            # doctest: +SKIP

Column dtypes come from a small vocabulary (``DTYPES``): ``int`` accepts every integer
width, ``float`` every float width and integers too (a CSV column of whole numbers reads as
int), ``string`` and ``category`` both string, categorical and enum columns (the values
are text either way; the dtype keeps what the reference had), ``datetime`` any unit and
time zone, and ``any`` skips the type check (nested, binary, time or all-null columns).
Columns are not nullable unless they say so.

Custom checks are data, never code: one of ``CHECK_KINDS`` with its ``value``. Each rule
(``COLUMN_RULES``, ``TABLE_RULES``, a custom check) fails at ``error`` level unless its
``severity`` says ``warning``. A file that breaks any rule here raises InvalidArgument
naming the file, the field (``columns[2].dtype``) and the rule.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from keel.errors import InvalidArgument
from keel.extras import require

if TYPE_CHECKING:
    pass

DType = Literal["int", "float", "string", "bool", "date", "datetime", "category", "any"]
Severity = Literal["error", "warning"]
ExtraColumns = Literal["error", "warning", "ignore"]
Scalar = int | float | str | bool | date | datetime

SCHEMA_VERSION = 1
DTYPES: tuple[DType, ...] = (
    "int", "float", "string", "bool", "date", "datetime", "category", "any"
)  # fmt: skip
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
COLUMN_RULES = ("present", "dtype", "not_null", "min", "max", "allowed", "unique")
TABLE_RULES = ("min_rows", "max_rows", "extra_column")
COMPARISONS = (
    "greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal", "not_equal"
)  # fmt: skip
CHECK_KINDS = (*COMPARISONS, "in_range", "str_matches", "str_length")

ORDERED_DTYPES: tuple[DType, ...] = ("int", "float", "date", "datetime")
TEXT_DTYPES: tuple[DType, ...] = ("string", "category")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


class _Invalid(InvalidArgument):
    """A rule broken at ``path`` (relative to the object being built); the parser adds the
    file and the object's place in it."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """One expected column. ``severity`` maps a rule of ``COLUMN_RULES`` to ``warning``."""

    name: str
    dtype: DType
    nullable: bool = False
    min: Scalar | None = None
    max: Scalar | None = None
    allowed: tuple[Scalar, ...] | None = None
    unique: bool = False
    severity: Mapping[str, Severity] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _guard(f"column {self.name!r}", self._check)

    def _check(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _Invalid("name", "must be a non-empty string")
        if self.dtype not in DTYPES:
            raise _Invalid("dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        _bool(self.nullable, "nullable")
        _bool(self.unique, "unique")
        for bound in ("min", "max"):
            value = getattr(self, bound)
            if value is not None:
                if self.dtype not in ORDERED_DTYPES:
                    raise _Invalid(bound, f"only for {', '.join(ORDERED_DTYPES)} columns")
                object.__setattr__(self, bound, _value(value, self.dtype, bound))
        if _above(self.min, self.max, "max"):
            raise _Invalid("max", f"must be at least min ({self.min}), got {self.max}")
        if self.allowed is not None:
            if self.dtype not in ("int", "string", "category", "bool"):
                raise _Invalid("allowed", "only for int, string, category or bool columns")
            if isinstance(self.allowed, str | bytes) or not isinstance(self.allowed, Sequence):
                raise _Invalid("allowed", "must be a list of values")
            if not self.allowed:
                raise _Invalid("allowed", "must list at least one value")
            values = tuple(
                _value(v, self.dtype, f"allowed[{k}]") for k, v in enumerate(self.allowed)
            )
            object.__setattr__(self, "allowed", values)
        object.__setattr__(self, "severity", _severities(self.severity, COLUMN_RULES))

    def severity_of(self, rule: str) -> Severity:
        return self.severity.get(rule, "error")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "nullable": self.nullable}
        if self.min is not None:
            out["min"] = _plain(self.min)
        if self.max is not None:
            out["max"] = _plain(self.max)
        if self.allowed is not None:
            out["allowed"] = [_plain(v) for v in self.allowed]
        if self.unique:
            out["unique"] = True
        if self.severity:
            out["severity"] = dict(self.severity)
        return out


@dataclass(frozen=True, slots=True)
class CustomCheck:
    """A named check of one column: ``check`` is one of ``CHECK_KINDS``.

    ``value`` is a number, date or string for the comparisons; ``[low, high]`` (both
    included) for ``in_range``; a regular expression for ``str_matches``, matched from the
    start of the value (end it with ``$`` to match the whole value); ``[min, max]``
    characters for ``str_length``, either of which may be null."""

    name: str
    column: str
    check: str
    value: Any
    severity: Severity = "error"

    def __post_init__(self) -> None:
        _guard(f"check {self.name!r}", self._check)

    def _check(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise _Invalid(
                "name",
                "must be 1 to 64 letters, digits, '_', '.' or '-', not starting with "
                "a digit, '.' or '-'",
            )
        if self.name in COLUMN_RULES or self.name in TABLE_RULES:
            raise _Invalid("name", f"{self.name!r} is a built-in rule; pick another name")
        if not isinstance(self.column, str) or not self.column:
            raise _Invalid("column", "must be a non-empty string")
        if self.check not in CHECK_KINDS:
            raise _Invalid("check", f"must be one of {', '.join(CHECK_KINDS)}, got {self.check!r}")
        if self.severity not in SEVERITIES:
            raise _Invalid("severity", f"must be error or warning, got {self.severity!r}")

    def bind(self, dtype: DType) -> CustomCheck:
        """This check with its value checked and converted for a column of ``dtype``."""
        return _guard(f"check {self.name!r}", lambda: self._bind(dtype))

    def _bind(self, dtype: DType) -> CustomCheck:
        kind, value = self.check, self.value
        if kind in ("str_matches", "str_length") and dtype not in TEXT_DTYPES:
            raise _Invalid("check", f"{kind} is only for string or category columns, not {dtype}")
        ordered = kind == "in_range" or (kind in COMPARISONS and kind != "not_equal")
        if ordered and dtype not in ORDERED_DTYPES:
            raise _Invalid("check", f"{kind} is only for {', '.join(ORDERED_DTYPES)} columns")
        if kind == "str_matches":
            return self._with(_regex(value, "value"))
        if kind in ("in_range", "str_length"):
            pair = _pair(value, "value")
            low: Any
            high: Any
            if kind == "str_length":
                low, high = (_length(v, f"value[{k}]") for k, v in enumerate(pair))
                if low is None and high is None:
                    raise _Invalid("value", "give a minimum or a maximum length (or both)")
            else:
                low, high = (_value(v, dtype, f"value[{k}]") for k, v in enumerate(pair))
            if _above(low, high, "value"):
                raise _Invalid("value", f"the low end {low} is above the high end {high}")
            return self._with((low, high))
        if dtype == "any":
            raise _Invalid("check", "not for a column of dtype any")
        return self._with(_value(value, dtype, "value"))

    def _with(self, value: Any) -> CustomCheck:
        return CustomCheck(self.name, self.column, self.check, value, self.severity)

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        value = [_plain(v) for v in value] if isinstance(value, tuple | list) else _plain(value)
        out = {"name": self.name, "column": self.column, "check": self.check, "value": value}
        if self.severity != "error":
            out["severity"] = self.severity
        return out


@dataclass(frozen=True, slots=True)
class DataSchema:
    """The expected table. ``severity`` maps ``min_rows`` or ``max_rows`` to ``warning``;
    ``extra_columns`` says what a column the schema does not list is."""

    columns: tuple[ColumnSchema, ...]
    checks: tuple[CustomCheck, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None
    extra_columns: ExtraColumns = "error"
    severity: Mapping[str, Severity] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _guard("schema", self._check)

    def _check(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "checks", tuple(self.checks))
        names = [c.name for c in self.columns]
        for k, name in enumerate(names):
            if name in names[:k]:
                raise _Invalid(f"columns[{k}].name", f"{name!r} is listed twice")
        dtypes = {c.name: c.dtype for c in self.columns}
        bound = []
        for k, check in enumerate(self.checks):
            if check.name in (c.name for c in self.checks[:k]):
                raise _Invalid(f"checks[{k}].name", f"{check.name!r} is used twice")
            if check.column not in dtypes:
                raise _Invalid(
                    f"checks[{k}].column", f"{check.column!r} is not one of the schema's columns"
                )
            try:
                bound.append(check.bind(dtypes[check.column]))
            except _Invalid as exc:
                raise _Invalid(f"checks[{k}].{exc.path}", exc.rule) from None
        object.__setattr__(self, "checks", tuple(bound))
        for key in ("min_rows", "max_rows"):
            value = getattr(self, key)
            if value is not None and (not is_int(value) or value < 0):
                raise _Invalid(key, f"must be a whole number of rows (0 or more), got {value!r}")
        low, high = self.min_rows, self.max_rows
        if low is not None and high is not None and low > high:
            raise _Invalid("max_rows", f"must be at least min_rows ({low})")
        if self.extra_columns not in ("error", "warning", "ignore"):
            raise _Invalid(
                "extra_columns", f"must be error, warning or ignore, got {self.extra_columns!r}"
            )
        object.__setattr__(self, "severity", _severities(self.severity, TABLE_RULES[:2]))

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def severity_of(self, rule: str) -> Severity:
        return self.severity.get(rule, "error")

    # text ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": SCHEMA_VERSION}
        if self.min_rows is not None:
            out["min_rows"] = self.min_rows
        if self.max_rows is not None:
            out["max_rows"] = self.max_rows
        out["extra_columns"] = self.extra_columns
        if self.severity:
            out["severity"] = dict(self.severity)
        out["columns"] = [c.to_dict() for c in self.columns]
        if self.checks:
            out["checks"] = [c.to_dict() for c in self.checks]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_yaml(self) -> str:
        """The schema as YAML (needs PyYAML)."""
        yaml = _yaml("writing a schema as YAML")
        return str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema") -> DataSchema:
        """The schema ``data`` describes (as :meth:`to_dict` gives); InvalidArgument naming
        ``source``, the field and the rule for anything else."""
        return _parse(data, source)

    @classmethod
    def from_text(cls, text: str, *, source: str = "schema.yaml") -> DataSchema:
        """Parse YAML or JSON text: ``.json`` sources are JSON, ``.yaml``/``.yml`` YAML, and
        other names JSON when the text starts with ``{``, YAML otherwise."""
        lowered = source.lower()
        is_json = lowered.endswith(".json") or (
            not lowered.endswith((".yaml", ".yml")) and text.lstrip().startswith("{")
        )
        if is_json:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidArgument(
                    f"{source}: line {exc.lineno}: not valid JSON ({exc.msg})"
                ) from exc
        else:
            yaml = _yaml(f"reading {source}")
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"line {mark.line + 1}: " if mark is not None else ""
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise InvalidArgument(f"{source}: {where}not valid YAML ({problem})") from exc
        return _parse(data, source)


# parsing -----------------------------------------------------------------------------------

_TOP_KEYS = ("version", "min_rows", "max_rows", "extra_columns", "severity", "columns", "checks")
_COLUMN_KEYS = ("name", "dtype", "nullable", "min", "max", "allowed", "unique", "severity")
_CHECK_KEYS = ("name", "column", "check", "value", "severity")


def _parse(data: Any, source: str) -> DataSchema:
    def fail(path: str, rule: str) -> InvalidArgument:
        return InvalidArgument(f"{source}: {path}: {rule}")

    if not isinstance(data, Mapping):
        raise InvalidArgument(f"{source}: a schema must be a mapping with a 'columns' list")
    _known_keys(data, _TOP_KEYS, "", fail)
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise fail("version", f"this Keel reads schema version {SCHEMA_VERSION}, got {version!r}")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list):
        raise fail("columns", "must be a list of columns")
    columns = []
    for k, raw in enumerate(raw_columns):
        path = f"columns[{k}]"
        if not isinstance(raw, Mapping):
            raise fail(path, "must be a mapping with name and dtype")
        _known_keys(raw, _COLUMN_KEYS, path, fail)
        for key in ("name", "dtype"):
            if key not in raw:
                raise fail(f"{path}.{key}", "is required")
        try:
            columns.append(ColumnSchema(**raw))
        except _Invalid as exc:
            raise fail(f"{path}.{exc.path}", exc.rule) from None
    raw_checks = data.get("checks", [])
    if not isinstance(raw_checks, list):
        raise fail("checks", "must be a list of checks")
    checks = []
    for k, raw in enumerate(raw_checks):
        path = f"checks[{k}]"
        if not isinstance(raw, Mapping):
            raise fail(path, "must be a mapping with name, column, check and value")
        _known_keys(raw, _CHECK_KEYS, path, fail)
        for key in ("name", "column", "check", "value"):
            if key not in raw:
                raise fail(f"{path}.{key}", "is required")
        try:
            checks.append(CustomCheck(**raw))
        except _Invalid as exc:
            raise fail(f"{path}.{exc.path}", exc.rule) from None
    table = {k: v for k, v in data.items() if k not in ("version", "columns", "checks")}
    try:
        return DataSchema(columns=tuple(columns), checks=tuple(checks), **table)
    except _Invalid as exc:
        raise fail(exc.path, exc.rule) from None


def _known_keys(data: Mapping[Any, Any], known: tuple[str, ...], path: str, fail: Any) -> None:
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise fail(where, f"unknown key; expected one of {', '.join(known)}")


# values ------------------------------------------------------------------------------------


def _guard(where: str, check: Any) -> Any:
    """Run ``check``; a broken rule comes out as ``_Invalid`` with ``where`` in its text."""
    try:
        return check()
    except _Invalid as exc:
        error = _Invalid(exc.path, exc.rule)
        error.message = f"{where}: {exc.path}: {exc.rule}"
        error.args = (error.message,)
        raise error from None


def _above(low: Any, high: Any, path: str) -> bool:
    """Whether ``low`` is above ``high`` (neither None)."""
    if low is None or high is None:
        return False
    try:
        return bool(low > high)
    except TypeError:  # a datetime with a time zone and one without
        raise _Invalid(path, "give both ends a time zone, or neither") from None


def _bool(value: object, path: str) -> None:
    if not isinstance(value, bool):
        raise _Invalid(path, f"must be true or false, got {value!r}")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _value(value: Any, dtype: DType, path: str) -> Scalar:
    """``value`` as a value of a ``dtype`` column; ISO 8601 text for dates and times."""
    if dtype == "int":
        if is_int(value):
            return cast(int, value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Invalid(path, f"must be a whole number, got {value!r}")
    if dtype == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise _Invalid(path, f"must be a finite number, got {value!r}")
            return value
        raise _Invalid(path, f"must be a number, got {value!r}")
    if dtype in TEXT_DTYPES:
        if isinstance(value, str):
            return value
        hint = " (quote it in YAML)" if isinstance(value, bool | int | float | date) else ""
        raise _Invalid(path, f"must be a string, got {value!r}{hint}")
    if dtype == "bool":
        _bool(value, path)
        return cast(bool, value)
    if dtype == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise _Invalid(path, f"must be a date like 2024-01-31, got {value!r}")
    if dtype == "datetime":
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise _Invalid(path, f"must be a date and time like 2024-01-31T12:00:00, got {value!r}")
    raise _Invalid(path, f"a column of dtype {dtype} takes no values")


def _pair(value: Any, path: str) -> tuple[Any, Any]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise _Invalid(path, f"must be a list of two values [low, high], got {value!r}")
    return value[0], value[1]


def _length(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if not is_int(value) or value < 0:
        raise _Invalid(path, f"must be a number of characters (0 or more) or null, got {value!r}")
    return cast(int, value)


def _regex(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(path, "must be a regular expression")
    try:
        # Compiled in the dialect the check runs in: Rust's regex, which has no look-around
        # and no backreferences.
        import polars as pl

        pl.Series([""]).str.contains(value)
    except ImportError:  # pragma: no cover - polars comes with the data extra
        try:
            re.compile(value)
        except re.error as exc:
            raise _Invalid(path, f"not a valid regular expression ({exc})") from None
    except Exception as exc:  # polars' regex errors have no type of their own
        lines = [line.strip() for line in str(exc).splitlines()]
        reason = next((line[7:] for line in lines if line.startswith("error: ")), lines[0])
        raise _Invalid(path, f"not a valid regular expression ({reason})") from None
    return value


def _severities(value: Any, rules: tuple[str, ...]) -> dict[str, Severity]:
    if not isinstance(value, Mapping):
        raise _Invalid("severity", "must map rule names to error or warning")
    out: dict[str, Severity] = {}
    for rule, level in value.items():
        if rule not in rules:
            raise _Invalid(f"severity.{rule}", f"unknown rule; expected one of {', '.join(rules)}")
        if level not in SEVERITIES:
            raise _Invalid(f"severity.{rule}", f"must be error or warning, got {level!r}")
        if level == "warning":
            out[rule] = level
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _yaml(doing: str) -> Any:
    return require("yaml", extra="data", purpose=doing[:1].upper() + doing[1:])

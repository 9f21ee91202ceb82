"""Tests for the run-search filter and order-by parser."""

from __future__ import annotations

import dataclasses
import math

import pytest

from keel.entities.search import (
    ATTRIBUTE_KEYS,
    MAX_CONDITIONS,
    MAX_FILTER_LENGTH,
    MAX_NESTING_DEPTH,
    ORDERABLE_ATTRIBUTES,
    And,
    Comparison,
    Or,
    OrderBy,
    Value,
    parse_filter,
    parse_order_by,
)
from keel.errors import InvalidArgument

ValueOrValues = Value | tuple[Value, ...] | None


def metric(key: str, op: str, value: ValueOrValues) -> Comparison:
    return Comparison("metric", key, op, value)


def param(key: str, op: str, value: ValueOrValues) -> Comparison:
    return Comparison("param", key, op, value)


def tag(key: str, op: str, value: ValueOrValues) -> Comparison:
    return Comparison("tag", key, op, value)


def attr(key: str, op: str, value: ValueOrValues) -> Comparison:
    return Comparison("attribute", key, op, value)


def filter_error(text: str) -> str:
    with pytest.raises(InvalidArgument) as info:
        parse_filter(text)
    return info.value.message


def order_error(clauses: list[str]) -> str:
    with pytest.raises(InvalidArgument) as info:
        parse_order_by(clauses)
    return info.value.message


def caret_position(message: str) -> int:
    """The 1-based position the caret line points at (for texts short enough to show whole)."""
    caret = message.split("\n")[-1]
    assert caret.strip() == "^"
    return len(caret) - len("  ^") + 1


# --------------------------------------------------------------------------------------------
# Empty filters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_means_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc = 1", metric("acc", "=", 1)),
        ("metrics.acc == 1", metric("acc", "=", 1)),
        ("metrics.acc != 1", metric("acc", "!=", 1)),
        ("metrics.acc <> 1", metric("acc", "!=", 1)),
        ("metrics.acc < 1", metric("acc", "<", 1)),
        ("metrics.acc <= 1", metric("acc", "<=", 1)),
        ("metrics.acc > 1", metric("acc", ">", 1)),
        ("metrics.acc >= 1", metric("acc", ">=", 1)),
        ("metrics.acc>=1", metric("acc", ">=", 1)),
        ("metrics.acc<-1", metric("acc", "<", -1)),
        ("metrics.acc IS NULL", metric("acc", "IS NULL", None)),
        ("metrics.acc IS NOT NULL", metric("acc", "IS NOT NULL", None)),
        ("metrics.acc is not null", metric("acc", "IS NOT NULL", None)),
        ("params.model = 'cnn'", param("model", "=", "cnn")),
        ("params.model=='cnn'", param("model", "=", "cnn")),
        ("params.model != 'cnn'", param("model", "!=", "cnn")),
        ("params.model <> 'cnn'", param("model", "!=", "cnn")),
        ("params.model LIKE 'res%'", param("model", "LIKE", "res%")),
        ("params.model like 'res%'", param("model", "LIKE", "res%")),
        ("params.model LIKE'res%'", param("model", "LIKE", "res%")),
        ("params.model ILIKE 'RES%'", param("model", "ILIKE", "RES%")),
        ("params.model NOT LIKE 'res%'", param("model", "NOT LIKE", "res%")),
        ("params.model not  ilike 'res%'", param("model", "NOT ILIKE", "res%")),
        ("params.model IN ('a', 'b')", param("model", "IN", ("a", "b"))),
        ("params.model in('a')", param("model", "IN", ("a",))),
        ("params.model NOT IN ('a', 'b')", param("model", "NOT IN", ("a", "b"))),
        ("params.model Not In ('a')", param("model", "NOT IN", ("a",))),
        ("params.model IS NULL", param("model", "IS NULL", None)),
        ("tags.team IS NOT NULL", tag("team", "IS NOT NULL", None)),
        ("tags.team IS  NULL", tag("team", "IS NULL", None)),
    ],
)
def test_operators(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("metric", metric("start_time", "=", 5)),
        ("metrics", metric("start_time", "=", 5)),
        ("METRICS", metric("start_time", "=", 5)),
        ("param", param("start_time", "=", "5")),
        ("params", param("start_time", "=", "5")),
        ("parameter", param("start_time", "=", "5")),
        ("parameters", param("start_time", "=", "5")),
        ("tag", tag("start_time", "=", "5")),
        ("tags", tag("start_time", "=", "5")),
        ("Tags", tag("start_time", "=", "5")),
        ("attribute", attr("start_time", "=", 5)),
        ("attributes", attr("start_time", "=", 5)),
        ("attr", attr("start_time", "=", 5)),
        ("run", attr("start_time", "=", 5)),
    ],
)
def test_entity_aliases(prefix: str, expected: Comparison) -> None:
    literal = expected.value if isinstance(expected.value, int) else f"'{expected.value}'"
    assert parse_filter(f"{prefix}.start_time = {literal}") == expected


@pytest.mark.parametrize("prefix", ["dataset", "datasets", "DATASETS"])
@pytest.mark.parametrize("key", ["name", "digest", "context", "Name"])
def test_dataset_fields(prefix: str, key: str) -> None:
    assert parse_filter(f"{prefix}.{key} = 'x'") == Comparison("dataset", key.lower(), "=", "x")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("run_id", "run_id"),
        ("id", "run_id"),
        ("run_uuid", "run_id"),
        ("run_name", "run_name"),
        ("name", "run_name"),
        ("status", "status"),
        ("STATUS", "status"),
        ("user_id", "user_id"),
        ("user", "user_id"),
        ("artifact_uri", "artifact_uri"),
        ("experiment_id", "experiment_id"),
        ("lifecycle_stage", "lifecycle_stage"),
    ],
)
@pytest.mark.parametrize("prefix", ["", "attributes.", "attr.", "run."])
def test_string_attribute_aliases(prefix: str, written: str, key: str) -> None:
    value = "RUNNING" if key == "status" else "x"
    assert parse_filter(f"{prefix}{written} = '{value}'") == attr(key, "=", value)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("start_time", "start_time"),
        ("created", "start_time"),
        ("end_time", "end_time"),
        ("last_heartbeat", "last_heartbeat"),
    ],
)
def test_time_attribute_aliases(written: str, key: str) -> None:
    text = f"attributes.{written} >= 1700000000000"
    assert parse_filter(text) == attr(key, ">=", 1_700_000_000_000)
    assert parse_filter(f"{written} < 1") == attr(key, "<", 1)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.train.loss < 1", "train.loss"),
        ("metrics.a.b.c < 1", "a.b.c"),
        ("metrics.eval/accuracy < 1", "eval/accuracy"),
        ("metrics.val-loss < 1", "val-loss"),
        ("metrics.ns:acc < 1", "ns:acc"),
        ("metrics.0 < 1", "0"),
        ("metrics.`my acc` < 1", "my acc"),
        ('metrics."my acc" < 1', "my acc"),
        ("metrics.'my acc' < 1", "my acc"),
        ("metrics.`a.b` < 1", "a.b"),
        ("metrics.`a``b` < 1", "a`b"),
        ('metrics."a""b" < 1', 'a"b'),
        ('metrics."a\\"b" < 1', 'a"b'),
        ("metrics.`AND` < 1", "AND"),
        ("metrics.`x > 1` < 1", "x > 1"),
        ("metrics.`Genauigkeit (%)` < 1", "Genauigkeit (%)"),
        ("metrics.Acc < 1", "Acc"),
    ],
)
def test_metric_keys(text: str, key: str) -> None:
    assert parse_filter(text) == metric(key, "<", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.mlflow.source.name = 'x'", tag("mlflow.source.name", "=", "x")),
        ("tags.`mlflow.runName` = 'x'", tag("mlflow.runName", "=", "x")),
        ("tags.team/sub = 'x'", tag("team/sub", "=", "x")),
        ("params.opt:lr = '0.1'", param("opt:lr", "=", "0.1")),
        ("attributes.`run_name` = 'x'", attr("run_name", "=", "x")),
    ],
)
def test_other_keys(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'abc'", "abc"),
        ('"abc"', "abc"),
        ("''", ""),
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a \"b\"'", 'a "b"'),
        ("\"a 'b'\"", "a 'b'"),
        ("'C:\\data'", "C:\\data"),
        ("'a\\\\'", "a\\"),
        ("'50\\%'", "50\\%"),
        ("'a AND b OR c'", "a AND b OR c"),
        ("'x IS NULL'", "x IS NULL"),
        ("'(a)'", "(a)"),
        ("'  padded  '", "  padded  "),
        ("'ünïcødé ✓'", "ünïcødé ✓"),
    ],
)
def test_string_values(literal: str, value: str) -> None:
    assert parse_filter(f"params.p = {literal}") == param("p", "=", value)


def test_keywords_inside_strings_are_not_operators() -> None:
    text = "tags.note LIKE '%AND%' OR params.x = 'a OR b AND c'"
    assert parse_filter(text) == Or((tag("note", "LIKE", "%AND%"), param("x", "=", "a OR b AND c")))


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("+7", 7),
        ("0.5", 0.5),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("-2.5e+2", -250.0),
        ("Infinity", math.inf),
        ("infinity", math.inf),
        ("+Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("inf", math.inf),
        ("-INF", -math.inf),
        ("99999999999999999999999", 1e23),
    ],
)
def test_number_values(literal: str, value: float) -> None:
    node = parse_filter(f"metrics.m > {literal}")
    assert node == metric("m", ">", value)
    assert isinstance(node, Comparison)
    assert type(node.value) is type(value)


@pytest.mark.parametrize("literal", ["NaN", "nan", "NAN"])
def test_nan(literal: str) -> None:
    node = parse_filter(f"metrics.loss != {literal}")
    assert isinstance(node, Comparison)
    assert node.op == "!="
    assert isinstance(node.value, float)
    assert math.isnan(node.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.p IN ('a')", ("a",)),
        ("params.p IN ( 'a' , \"b\" ,'c' )", ("a", "b", "c")),
        ("params.p IN ('a,b', 'c)')", ("a,b", "c)")),
        ("params.p IN ('', 'x''y')", ("", "x'y")),
    ],
)
def test_in_lists(text: str, value: tuple[str, ...]) -> None:
    assert parse_filter(text) == param("p", "IN", value)


# --------------------------------------------------------------------------------------------
# Attribute type rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = 'running'", attr("status", "=", "RUNNING")),
        ("status != 'Finished'", attr("status", "!=", "FINISHED")),
        ("status IN ('scheduled', 'FAILED')", attr("status", "IN", ("SCHEDULED", "FAILED"))),
        ("status NOT IN ('killed')", attr("status", "NOT IN", ("KILLED",))),
        ("run_id = 'abc'", attr("run_id", "=", "abc")),
        ("run_id != 'abc'", attr("run_id", "!=", "abc")),
        ("run_id LIKE 'ab%'", attr("run_id", "LIKE", "ab%")),
        ("run_id IN ('a', 'b')", attr("run_id", "IN", ("a", "b"))),
        ("run_id NOT IN ('a')", attr("run_id", "NOT IN", ("a",))),
        ("run_name ILIKE '%bert%'", attr("run_name", "ILIKE", "%bert%")),
        ("run_name NOT LIKE 'tmp%'", attr("run_name", "NOT LIKE", "tmp%")),
        ("user_id IN ('ana', 'bo')", attr("user_id", "IN", ("ana", "bo"))),
        ("experiment_id = '1'", attr("experiment_id", "=", "1")),
        ("lifecycle_stage = 'active'", attr("lifecycle_stage", "=", "active")),
        ("artifact_uri LIKE 's3://%'", attr("artifact_uri", "LIKE", "s3://%")),
        ("end_time IS NULL", attr("end_time", "IS NULL", None)),
        ("last_heartbeat <= 5.5", attr("last_heartbeat", "<=", 5.5)),
        ("datasets.digest IN ('a', 'b')", Comparison("dataset", "digest", "IN", ("a", "b"))),
        ("datasets.context ILIKE 'TRAIN%'", Comparison("dataset", "context", "ILIKE", "TRAIN%")),
    ],
)
def test_attribute_rules(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


# --------------------------------------------------------------------------------------------
# AND, OR and parentheses
# --------------------------------------------------------------------------------------------

A = metric("a", ">", 1)
B = metric("b", ">", 2)
C = metric("c", ">", 3)
D = metric("d", ">", 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.a > 1", A),
        ("(metrics.a > 1)", A),
        ("((( metrics.a > 1 )))", A),
        ("metrics.a > 1 AND metrics.b > 2", And((A, B))),
        ("metrics.a > 1 and metrics.b > 2 AnD metrics.c > 3", And((A, B, C))),
        ("metrics.a > 1 OR metrics.b > 2", Or((A, B))),
        ("metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3", Or((A, And((B, C))))),
        ("metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3", Or((And((A, B)), C))),
        (
            "metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3 AND metrics.d > 4",
            Or((And((A, B)), And((C, D)))),
        ),
        ("(metrics.a > 1 OR metrics.b > 2) AND metrics.c > 3", And((Or((A, B)), C))),
        ("metrics.a > 1 AND (metrics.b > 2 OR metrics.c > 3)", And((A, Or((B, C))))),
        ("(metrics.a > 1 AND metrics.b > 2) AND metrics.c > 3", And((A, B, C))),
        ("metrics.a > 1 AND (metrics.b > 2 AND (metrics.c > 3))", And((A, B, C))),
        ("metrics.a > 1 OR (metrics.b > 2 OR metrics.c > 3)", Or((A, B, C))),
        ("(metrics.a > 1 OR metrics.b > 2) OR (metrics.c > 3)", Or((A, B, C))),
        ("metrics.a>1 AND(metrics.b>2)OR(metrics.c>3)", Or((And((A, B)), C))),
        ("\n  metrics.a > 1\n  AND metrics.b > 2\n", And((A, B))),
    ],
)
def test_boolean_structure(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


def test_mixed_entities() -> None:
    text = (
        "metrics.accuracy >= 0.9 AND params.model = 'resnet' "
        "AND (tags.team = 'vision' OR status IN ('RUNNING', 'FINISHED'))"
    )
    assert parse_filter(text) == And(
        (
            metric("accuracy", ">=", 0.9),
            param("model", "=", "resnet"),
            Or((tag("team", "=", "vision"), attr("status", "IN", ("RUNNING", "FINISHED")))),
        )
    )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_error_message_format() -> None:
    message = filter_error("metrics.x acc > 1")
    first, shown, caret = message.split("\n")
    assert first.startswith('filter: expected a comparison operator at position 11, found "acc"')
    assert "metrics.`x acc`" in first  # suggests quoting a key with a space
    assert shown == "  metrics.x acc > 1"
    assert caret == "            ^"


@pytest.mark.parametrize(
    ("text", "position", "fragments"),
    [
        # Identifiers
        ("foo.bar = 'x'", 1, ['unknown prefix "foo"', "metrics., params., tags."]),
        ("acc > 1", 1, ['unknown attribute "acc"', "run_id", "start_time", "status"]),
        ("attributes.duration > 1", 12, ['unknown attribute "duration"', "last_heartbeat"]),
        ("datasets.size = 'x'", 10, ['unknown dataset field "size"', "name, digest, context"]),
        ("metrics = 1", 8, ['expected "." and a key after "metrics"']),
        ("metrics. = 1", 9, ['expected a key after "metrics."', "metrics.`my key`"]),
        ('metrics."" = 1', 9, ["expected a non-empty key"]),
        ("'acc' = 1", 1, ["expected a condition", "quoted keys need a prefix"]),
        ("= 1", 1, ["expected a condition such as metrics.accuracy > 0.9", 'found "="']),
        ("AND metrics.a > 1", 1, ["expected a condition", 'found "AND"']),
        ("metrics.a > 1 AND", 18, ["expected a condition", "found the end of the filter"]),
        ("metrics.a > 1 OR OR metrics.b > 1", 18, ["expected a condition", 'found "OR"']),
        ("metrics.`a b = 1", 9, ["expected a closing ` for the string"]),
        # Operators
        ("metrics.a", 10, ["expected a comparison operator", "found the end of the filter"]),
        ("metrics.a 1", 11, ["expected a comparison operator", "=, !=, <, <="]),
        ("metrics.a => 1", 12, ["expected a number or a quoted string", 'found ">"']),
        ("metrics.a ! 1", 11, ["expected a comparison operator", 'found "!"']),
        ("metrics.a BETWEEN 1", 11, ["expected a comparison operator", "IS NOT NULL"]),
        ("params.a NOT 'x'", 14, ["expected LIKE, ILIKE or IN after NOT"]),
        ("params.a NOT EQUAL 'x'", 14, ["expected LIKE, ILIKE or IN after NOT", 'found "EQUAL"']),
        ("metrics.a IS 1", 14, ["expected NULL or NOT NULL after IS"]),
        ("metrics.a IS NOT", 17, ["expected NULL after IS NOT", "found the end of the filter"]),
        ("params.a INN ('x')", 10, ["expected a comparison operator", 'found "INN"']),
        # Values
        ("metrics.a >", 12, ["expected a number or a quoted string", "the end of the filter"]),
        ("status = RUNNING", 10, ["expected a number or a quoted string", "'RUNNING'"]),
        ("tags.t = NULL", 10, ["use IS NULL or IS NOT NULL"]),
        ("params.a = `x`", 12, ["backticks quote keys"]),
        ("params.a = 'x", 12, ["expected a closing ' for the string", "double it"]),
        ('params.a = "x', 12, ['expected a closing " for the string']),
        ("params.a = 'it\\'", 12, ["expected a closing ' for the string"]),
        ("metrics.a > 1abc", 13, ["expected a number", 'found "1abc"']),
        ("metrics.a > 1.2.3", 13, ["expected a number", 'found "1.2.3"']),
        ("metrics.a > 1_000", 13, ["expected a number", 'found "1_000"']),
        ("metrics.a > -", 13, ["expected a number"]),
        ("metrics.a > -NaN", 13, ["expected a number"]),
        # IN lists
        ("params.a IN 'x'", 13, ["expected '(' to start the list of values after IN"]),
        ("params.a NOT IN x", 17, ["expected '(' to start the list of values after NOT IN"]),
        ("params.a IN ()", 14, ["expected at least one value in the IN list"]),
        ("params.a IN ('x',)", 18, ["expected a number or a quoted string", 'found ")"']),
        ("params.a IN ('x' 'y')", 18, ["expected ',' or ')' in the IN list"]),
        ("params.a IN ('x'", 17, ["expected ',' or ')'", "found the end of the filter"]),
        ("params.a IN ('x', 1)", 19, ["params are strings: quote the value", "'1'"]),
        # Type rules
        ("metrics.a LIKE 'x%'", 11, ["LIKE cannot be used with metrics", "metrics are numbers"]),
        ("metrics.a ILIKE 'x%'", 11, ["ILIKE cannot be used with metrics"]),
        ("metrics.a IN (1, 2)", 11, ["IN cannot be used with metrics", "=, !=, <, <=, >, >="]),
        ("metrics.a = '0.5'", 13, ["metrics are numbers: expected a number", "remove the quotes"]),
        ("metrics.a = 'high'", 13, ["metrics are numbers: expected a number"]),
        ("params.lr > 1", 13, ["params are strings: quote the value", "> cannot be used"]),
        ("params.lr = 0.1", 13, ["params are strings: quote the value", "write '0.1'"]),
        ("tags.t = 1", 10, ["tags are strings: quote the value"]),
        ("params.lr > '1'", 11, ["> cannot be used with params", "params are strings", "LIKE"]),
        ("tags.t <= 'b'", 8, ["<= cannot be used with tags"]),
        ("start_time > '2024-01-01'", 14, ["start_time is a number", "milliseconds"]),
        ("end_time LIKE '1%'", 10, ["LIKE cannot be used with end_time"]),
        ("start_time > NaN", 14, ["NaN and Infinity can only be compared with metrics"]),
        ("end_time < Infinity", 12, ["NaN and Infinity can only be compared with metrics"]),
        ("status = 'DONE'", 10, ["status must be one of RUNNING, SCHEDULED, FINISHED"]),
        ("status IN ('RUNNING', 'ok')", 23, ["status must be one of", "found \"'ok'\""]),
        ("status LIKE 'RUN%'", 8, ["LIKE cannot be used with status", "=, !=, IN, NOT IN"]),
        ("status IS NULL", 8, ["IS NULL cannot be used with status"]),
        ("status = 1", 10, ["status is a string: quote the value"]),
        ("run_id ILIKE 'a%'", 8, ["ILIKE cannot be used with run_id", "=, !=, LIKE, IN, NOT IN"]),
        ("run_id < 'a'", 8, ["< cannot be used with run_id"]),
        ("experiment_id = 1", 17, ["experiment_id is a string: quote the value"]),
        ("datasets.name > 'a'", 15, ["> cannot be used with datasets.name"]),
        # Structure
        ("metrics.a > 1 metrics.b > 2", 15, ["expected AND, OR or the end of the filter"]),
        ("metrics.a > 1 ANDY metrics.b > 2", 15, ["expected AND, OR", 'found "ANDY"']),
        ("metrics.a > 1 && metrics.b > 2", 15, ["expected AND, OR", 'found "&"']),
        ("metrics.a > 1)", 14, ["unexpected ')' with no '(' before it"]),
        ("(metrics.a > 1", 15, ["expected AND, OR or ')'", "'(' at position 1 is not closed"]),
        ("((metrics.a > 1) x", 18, ["expected AND, OR or ')'", "'(' at position 1"]),
        ("()", 2, ["expected a condition", 'found ")"']),
        ("(", 2, ["expected a condition", "found the end of the filter"]),
    ],
)
def test_filter_errors(text: str, position: int, fragments: list[str]) -> None:
    message = filter_error(text)
    assert message.startswith("filter: ")
    assert f"at position {position}" in message.split("\n")[0]
    for fragment in fragments:
        assert fragment in message
    assert caret_position(message) == position
    assert message.split("\n")[1] == f"  {text}"


def test_errors_are_invalid_argument_with_status_400() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_filter("metrics.a LIKE 'x'")
    assert info.value.status_code == 400
    assert str(info.value) == info.value.message


def test_caret_accounts_for_newlines_and_tabs() -> None:
    message = filter_error("metrics.a > 1\n\tAND foo")
    assert "at position 20" in message
    _, shown, caret = message.split("\n")
    assert shown == "  metrics.a > 1  AND foo"
    assert caret.index("^") == shown.index("foo")


def test_caret_window_on_long_filters() -> None:
    text = " AND ".join(f"metrics.m{i} > {i}" for i in range(20)) + " AND metrics.z ~ 1"
    message = filter_error(text)
    position = text.index("~") + 1
    assert f"at position {position}" in message
    _, shown, caret = message.split("\n")
    assert shown.startswith("  ...")
    assert len(shown) < 100
    assert shown[caret.index("^")] == "~"


def test_non_string_filter() -> None:
    with pytest.raises(InvalidArgument, match="filter: expected a string, got int"):
        parse_filter(5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


def test_filter_length_limit() -> None:
    padding = " " * (MAX_FILTER_LENGTH - len("metrics.a > 1"))
    assert parse_filter("metrics.a > 1" + padding) == A
    with pytest.raises(InvalidArgument, match="10,001 characters long; the limit is 10,000"):
        parse_filter("metrics.a > 1" + padding + " ")


def test_condition_limit() -> None:
    conditions = [f"metrics.m{i} > {i}" for i in range(MAX_CONDITIONS + 1)]
    node = parse_filter(" OR ".join(conditions[:MAX_CONDITIONS]))
    assert isinstance(node, Or)
    assert len(node.items) == MAX_CONDITIONS
    text = " OR ".join(conditions)
    message = filter_error(text)
    assert f"too many conditions: the limit is {MAX_CONDITIONS}" in message
    assert f"at position {text.index(conditions[-1]) + 1}" in message


def test_nesting_limit() -> None:
    depth = MAX_NESTING_DEPTH
    assert parse_filter("(" * depth + "metrics.a > 1" + ")" * depth) == A
    message = filter_error("(" * (depth + 1) + "metrics.a > 1" + ")" * (depth + 1))
    assert f"too many nested parentheses: the limit is {depth}" in message
    assert f"at position {depth + 1}" in message


def test_deep_nesting_fails_cleanly() -> None:
    message = filter_error("(" * 5000)
    assert "too many nested parentheses" in message


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------


def test_nodes_are_frozen_and_slotted() -> None:
    node = metric("a", ">", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.key = "b"  # type: ignore[misc]
    for value in (node, And((node,)), Or((node,)), OrderBy("metric", "a", True)):
        assert not hasattr(value, "__dict__")


def test_nodes_are_hashable() -> None:
    node = parse_filter("params.a IN ('x', 'y') OR metrics.b > 1")
    assert hash(node) == hash(parse_filter("params.a IN ('x','y') OR metrics.b>1"))


# --------------------------------------------------------------------------------------------
# Order by
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clauses", [None, []])
def test_no_order_by(clauses: list[str] | None) -> None:
    assert parse_order_by(clauses) == ()


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.acc", OrderBy("metric", "acc", True)),
        ("metrics.acc DESC", OrderBy("metric", "acc", False)),
        ("metrics.acc desc", OrderBy("metric", "acc", False)),
        ("metrics.acc ASC", OrderBy("metric", "acc", True)),
        ("  metrics.acc   Desc  ", OrderBy("metric", "acc", False)),
        ("metric.train.loss asc", OrderBy("metric", "train.loss", True)),
        ('metrics."my acc" desc', OrderBy("metric", "my acc", False)),
        ("metrics.`my acc`", OrderBy("metric", "my acc", True)),
        ("params.model asc", OrderBy("param", "model", True)),
        ("parameters.model", OrderBy("param", "model", True)),
        ("tags.`mlflow.runName` DESC", OrderBy("tag", "mlflow.runName", False)),
        ("attributes.start_time", OrderBy("attribute", "start_time", True)),
        ("attr.created DESC", OrderBy("attribute", "start_time", False)),
        ("start_time DESC", OrderBy("attribute", "start_time", False)),
        ("name", OrderBy("attribute", "run_name", True)),
        ("run.id", OrderBy("attribute", "run_id", True)),
        ("user", OrderBy("attribute", "user_id", True)),
        ("STATUS", OrderBy("attribute", "status", True)),
    ],
)
def test_order_by_clauses(clause: str, expected: OrderBy) -> None:
    assert parse_order_by([clause]) == (expected,)


@pytest.mark.parametrize("key", ORDERABLE_ATTRIBUTES)
def test_every_orderable_attribute(key: str) -> None:
    assert parse_order_by([f"attributes.{key} DESC"]) == (OrderBy("attribute", key, False),)


def test_order_by_keeps_clause_order() -> None:
    clauses = ("metrics.acc DESC", "params.lr", "end_time")
    assert parse_order_by(clauses) == (
        OrderBy("metric", "acc", False),
        OrderBy("param", "lr", True),
        OrderBy("attribute", "end_time", True),
    )


@pytest.mark.parametrize(
    ("clauses", "prefix", "position", "fragments"),
    [
        (["metrics.acc DESC", "params.model up"], "order_by[1]", 14, ["expected ASC or DESC"]),
        (["metrics.acc DESCENDING"], "order_by[0]", 13, ['found "DESCENDING"']),
        (["metrics.acc, params.lr"], "order_by[0]", 12, ["put each clause in its own list item"]),
        (["metrics.acc DESC x"], "order_by[0]", 18, ["expected the end of the clause after DESC"]),
        ([""], "order_by[0]", 1, ["expected a key such as", "found the end of the clause"]),
        (["   "], "order_by[0]", 4, ["expected a key such as"]),
        (["metrics"], "order_by[0]", 8, ['expected "." and a key after "metrics"']),
        (["foo.bar"], "order_by[0]", 1, ['unknown prefix "foo"']),
        (["datasets.name"], "order_by[0]", 1, ["runs cannot be ordered by datasets"]),
        (["artifact_uri"], "order_by[0]", 1, ['unknown attribute "artifact_uri"', "run_name"]),
        (["lifecycle_stage"], "order_by[0]", 1, ['unknown attribute "lifecycle_stage"']),
        (["x", "y"], "order_by[0]", 1, ['unknown attribute "x"']),
        (["metrics.`acc DESC"], "order_by[0]", 9, ["expected a closing ` for the string"]),
    ],
)
def test_order_by_errors(
    clauses: list[str], prefix: str, position: int, fragments: list[str]
) -> None:
    message = order_error(clauses)
    assert message.startswith(f"{prefix}: ")
    assert f"at position {position}" in message
    for fragment in fragments:
        assert fragment in message
    assert caret_position(message) == position


def test_order_by_rejects_a_bare_string() -> None:
    with pytest.raises(InvalidArgument, match="expected a list of clauses"):
        parse_order_by("metrics.acc DESC")


def test_order_by_rejects_non_strings() -> None:
    with pytest.raises(InvalidArgument, match=r"order_by\[1\]: expected a string"):
        parse_order_by(["metrics.acc", 3])  # type: ignore[list-item]


def test_attribute_keys_are_canonical() -> None:
    assert "duration" not in ATTRIBUTE_KEYS
    assert set(ORDERABLE_ATTRIBUTES) <= set(ATTRIBUTE_KEYS)
    for key in ATTRIBUTE_KEYS:
        rule_value = "1" if key != "status" else "RUNNING"
        if key in ("start_time", "end_time", "last_heartbeat"):
            assert parse_filter(f"{key} = 1") == attr(key, "=", 1)
        else:
            assert parse_filter(f"{key} = '{rule_value}'") == attr(key, "=", rule_value)

"""Keel's /predict protocol: JSON records and columns, Arrow IPC and CSV in; JSON and
Arrow out; every kind of bad body with the error it gets."""

from __future__ import annotations

import io
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
orjson = pytest.importorskip("orjson")

from keel.models.signature import ColumnSpec, Signature, TensorSpec  # noqa: E402
from keel.serving.decoding import RequestSchema  # noqa: E402
from keel.serving.errors import (  # noqa: E402
    BadRequest,
    Unprocessable,
    UnsupportedMediaType,
    error_body,
)
from keel.serving.protocols import keel as protocol  # noqa: E402

SIGNATURE = Signature(
    [
        ColumnSpec("age", "int32"),
        ColumnSpec("income", "float64"),
        ColumnSpec("city", "string"),
        ColumnSpec("seen", "datetime", optional=True),
    ]
)
SCHEMA = RequestSchema(SIGNATURE)
TENSOR = RequestSchema(Signature(TensorSpec("float32", (-1, 3))))


def decode(body: Any, schema: RequestSchema = SCHEMA, content_type: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return protocol.decode(raw, content_type, schema)


def problems(body: Any, schema: RequestSchema = SCHEMA, content_type: str | None = None) -> list:
    with pytest.raises(Unprocessable) as caught:
        decode(body, schema, content_type)
    assert caught.value.status_code == 422
    return caught.value.problems


def bad_request(body: Any, schema: RequestSchema = SCHEMA, content_type: str | None = None) -> str:
    with pytest.raises(BadRequest) as caught:
        decode(body, schema, content_type)
    assert caught.value.status_code == 400
    return caught.value.message


ROWS = [
    {"age": 31, "income": 52000.5, "city": "Lyon", "seen": "2026-01-02T03:04:05Z"},
    {"age": 47, "income": 61000, "city": "Oslo"},
]


def test_records_are_checked_and_converted_to_the_signature_types() -> None:
    table = decode({"records": ROWS})
    assert table.rows == 2 and not table.tensor and table.params is None
    assert list(table.columns) == ["age", "income", "city", "seen"]
    assert table.columns["age"].dtype == np.int32
    assert table.columns["income"].tolist() == [52000.5, 61000.0]
    assert table.columns["city"].tolist() == ["Lyon", "Oslo"]
    assert str(table.columns["seen"][0]) == "2026-01-02T03:04:05.000000"
    assert np.isnat(table.columns["seen"][1])


def test_columns_give_the_same_table_as_records() -> None:
    columns = {
        "city": ["Lyon", "Oslo"],
        "age": [31, 47],
        "income": [52000.5, 61000],
        "seen": ["2026-01-02T03:04:05Z", None],
    }
    by_columns = decode({"columns": columns})
    by_records = decode({"records": ROWS})
    assert list(by_columns.columns) == list(by_records.columns)  # the signature's order
    for name, array in by_records.columns.items():
        np.testing.assert_array_equal(by_columns.columns[name], array)


def test_a_missing_optional_column_is_left_out() -> None:
    table = decode({"records": [{"age": 1, "income": 2.0, "city": "x"}]})
    assert list(table.columns) == ["age", "income", "city"]


def test_every_problem_is_listed_in_one_error() -> None:
    found = problems(
        {
            "records": [
                {"age": 1.5, "income": "lots", "colour": "red"},
                {"age": 2**40, "income": None, "city": 3},
            ]
        }
    )
    assert found == [
        "unknown column 'colour' (not in the signature)",
        "column 'age': expected int32; row 0 has float64 1.5 (converting floats to integers "
        "loses the fraction)",
        "column 'income': null at row 1, but the column is required (not optional)",
        "column 'income': expected float64; row 0 has string 'lots' (strings are not "
        "converted to numbers)",
        "column 'city': null at row 0, but the column is required (not optional)",
        "column 'city': expected string; row 1 has int64 3 (no lossless conversion)",
    ]


def test_missing_columns_are_named_with_their_types() -> None:
    assert problems({"records": [{"age": 3}]}) == [
        "missing columns 'income' (float64), 'city' (string)"
    ]


def test_an_int_too_large_for_int32_names_its_rows() -> None:
    found = problems({"columns": {"age": [1, 2**31, 5], "income": [1, 2, 3], "city": ["a"] * 3}})
    assert found == ["column 'age': expected int32, row 1 is too large for int32"]


def test_many_bad_rows_are_counted_not_all_listed() -> None:
    body = {"columns": {"age": ["x"] * 9, "income": [1.0] * 9, "city": ["a"] * 9}}
    (only,) = problems(body)
    assert only == (
        "column 'age': expected int32; row 0 has string 'x' (strings are not converted to "
        "numbers); also rows 1, 2, 3, 4, 5 and 3 more"
    )


def test_a_bad_datetime_is_named() -> None:
    body = {"records": [{"age": 1, "income": 1.0, "city": "a", "seen": "yesterday"}]}
    assert problems(body) == [
        "column 'seen': expected datetime (ISO 8601 text); row 0 is not, e.g. string 'yesterday'"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body: not valid JSON"),
        (b"[1, 2]", "body: expected a JSON object with one of records, columns, inputs"),
        ({"rows": []}, "body: unknown keys 'rows'; allowed: records, columns, inputs, params"),
        ({}, "body: expected exactly one of 'records', 'columns', 'inputs', got none"),
        ({"records": [], "columns": {}}, "got 'records', 'columns'"),
        ({"records": {"age": 1}}, "records: expected a list of row objects, got an object"),
        ({"records": [{"age": 1}, 5]}, "records[1]: expected a row object, got a number"),
        ({"records": []}, "records: no rows to predict on"),
        ({"columns": {"age": 1}}, "columns.age: expected a list of values, got a number"),
        ({"columns": {"age": [1], "city": [1, 2]}}, "columns must have equal lengths"),
        ({"records": [{"age": 1}], "params": [1]}, "params: expected a JSON object, got a list"),
    ],
)
def test_malformed_bodies_are_bad_requests(body: Any, message: str) -> None:
    assert message in bad_request(body)


def test_params_are_refused_by_a_model_that_takes_none_and_kept_otherwise() -> None:
    body = {"records": [{"age": 1, "income": 1.0, "city": "a"}], "params": {"k": 3}}
    assert problems(body) == ["params: this model takes no params, got 'k'"]
    table = decode(body, RequestSchema(SIGNATURE, takes_params=True))
    assert table.params == {"k": 3}


def test_a_tensor_model_takes_inputs_as_rows() -> None:
    table = decode({"inputs": [[1, 2, 3], [4.5, 5, 6]]}, TENSOR)
    assert table.tensor and table.rows == 2 and list(table.columns) == ["input"]
    assert table.columns["input"].dtype == np.float32
    assert table.columns["input"].shape == (2, 3)


def test_a_tensor_model_also_takes_records_in_column_order() -> None:
    table = decode({"records": [{"a": 1, "b": 2, "c": 3}]}, TENSOR)
    assert table.columns["input"].tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1, 2]], "inputs: expected shape (any, 3), got (1, 2)"),
        ([[1, 2, 3], [1]], "inputs: rows of different lengths; a tensor must be rectangular"),
        ([["a", "b", "c"]], "inputs: expected a tensor of float32, got <U1"),
        ([1, 2, 3], "inputs: expected shape (any, 3), got (3,)"),
    ],
)
def test_bad_tensors_are_unprocessable(rows: list, message: str) -> None:
    assert problems({"inputs": rows}, TENSOR) == [message]


def test_inputs_for_a_column_model_are_values_in_column_order() -> None:
    table = decode({"inputs": [[5, 1.5, "x"]]})
    assert table.columns["age"].tolist() == [5] and table.columns["city"].tolist() == ["x"]
    assert problems({"inputs": [[5, 1.5]]}) == [
        "inputs: row 0 is not a list of 3 to 4 values in the signature's column order "
        "(age, income, city, seen)"
    ]


def test_a_model_without_signature_takes_the_types_of_the_body() -> None:
    table = decode(
        {"columns": {"n": [1, 2], "x": [1, 2.5], "s": ["a", None], "b": [True, False]}},
        RequestSchema(None),
    )
    assert [str(a.dtype) for a in table.columns.values()] == ["int64", "float64", "object", "bool"]
    array = decode({"inputs": [[1, 2], [3, 4]]}, RequestSchema(None))
    assert array.tensor and array.columns["input"].shape == (2, 2)


def test_csv_is_read_by_the_signature() -> None:
    body = b"age,income,city\n31,52000.5,007\n47,61000,Oslo\n"
    table = decode(body, content_type="text/csv; charset=utf-8")
    assert table.columns["age"].tolist() == [31, 47]
    assert table.columns["city"].tolist() == ["007", "Oslo"]  # text stays text
    assert problems(b"age,income,city\nx,,a\n", content_type="text/csv") == [
        "column 'age': expected int32; row 0 has string 'x' (strings are not converted to numbers)",
        "column 'income': null at row 0, but the column is required (not optional)",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body: CSV has no header line"),
        (b"age,age\n1,2\n", "body: CSV header repeats 'age'"),
        (b"age,income\n1\n", "body: CSV line 2 has 1 fields, the header 2"),
        (b"age\n\xff\n", "body: CSV must be UTF-8 text"),
        (b"age,income,city\n", "body: no rows to predict on"),
    ],
)
def test_malformed_csv(body: bytes, message: str) -> None:
    assert message in bad_request(body, content_type="text/csv")


def _arrow(table: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_arrow_is_typed_so_only_lossless_widening_applies() -> None:
    ok = pa.table(
        {
            "age": pa.array([31, 47], pa.int16()),
            "income": pa.array([1.5, 2.5], pa.float32()),
            "city": ["Lyon", "Oslo"],
        }
    )
    table = decode(_arrow(ok), content_type=protocol.bodies.ARROW)
    assert table.columns["age"].dtype == np.int32 and table.columns["income"].dtype == np.float64
    assert table.columns["city"].tolist() == ["Lyon", "Oslo"]
    wide = ok.set_column(0, "age", pa.array([31, 47], pa.int64()))
    assert problems(_arrow(wide), content_type=protocol.bodies.ARROW) == [
        "column 'age': expected int32, got int64 (int64 to int32 may overflow)"
    ]


def test_arrow_nulls_in_a_required_column_are_named() -> None:
    table = pa.table({"age": pa.array([1, None]), "income": [1.0, 2.0], "city": ["a", "b"]})
    assert problems(_arrow(table), content_type=protocol.bodies.ARROW) == [
        "column 'age': null at row 1, but the column is required (not optional)"
    ]


def test_a_broken_arrow_stream_is_a_bad_request() -> None:
    message = bad_request(b"not arrow", content_type=protocol.bodies.ARROW)
    assert message.startswith("body: not a valid Arrow IPC stream")


def test_an_unknown_media_type_is_415_naming_the_known_ones() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decode(b"x", content_type="application/xml")
    assert caught.value.status_code == 415
    assert "application/json, application/vnd.apache.arrow.stream, text/csv" in str(caught.value)


def test_the_json_answer() -> None:
    body = protocol.encode_json(
        np.array([0, 1]),
        ids=["a1", "b2"],
        model_name="fraud",
        model_version=3,
        scores=np.array([[0.75, 0.25], [0.1, 0.9]]),
        classes=np.array(["no", "yes"], dtype=object),
    )
    assert orjson.loads(body) == {
        "predictions": [0, 1],
        "ids": ["a1", "b2"],
        "model": {"name": "fraud", "version": 3},
        "scores": [[0.75, 0.25], [0.1, 0.9]],
        "classes": ["no", "yes"],
    }
    plain = orjson.loads(
        protocol.encode_json(
            np.array(["x"], dtype=object), ids=["i"], model_name="m", model_version=1
        )
    )
    assert plain == {"predictions": ["x"], "ids": ["i"], "model": {"name": "m", "version": 1}}


def test_the_arrow_answer_when_the_client_accepts_arrow() -> None:
    content, media = protocol.encode(
        np.array([0.5, 1.5]),
        ids=["a", "b"],
        model_name="m",
        model_version=2,
        scores=np.array([[0.2, 0.8], [0.6, 0.4]]),
        classes=[0, 1],
        accept="application/vnd.apache.arrow.stream, application/json;q=0.5",
    )
    assert media == protocol.bodies.ARROW
    table = pa.ipc.open_stream(io.BytesIO(content)).read_all()
    assert table.to_pydict() == {
        "id": ["a", "b"],
        "prediction": [0.5, 1.5],
        "score.0": [0.2, 0.6],
        "score.1": [0.8, 0.4],
    }
    assert table.schema.metadata == {b"keel.model.name": b"m", b"keel.model.version": b"2"}
    _, media = protocol.encode(np.array([1]), ids=["a"], model_name="m", model_version=1)
    assert media == "application/json"


def test_round_trip_arrow_request_of_the_answered_rows() -> None:
    rows = [{"age": 1, "income": 2.0, "city": "x"}]
    table = decode({"records": rows})
    again = decode(
        _arrow(pa.table({name: array for name, array in table.columns.items()})),
        content_type=protocol.bodies.ARROW,
    )
    for name, array in table.columns.items():
        np.testing.assert_array_equal(again.columns[name], array)


def test_error_bodies_carry_the_problems() -> None:
    with pytest.raises(Unprocessable) as caught:
        decode({"records": [{"age": "x", "income": 1.0, "city": "a"}]})
    body = error_body(caught.value)
    assert body["error"]["code"] == "schema_mismatch"
    assert body["error"]["problems"] == caught.value.problems
    assert body["error"]["message"].startswith("input does not match the model's signature: ")

"""MLflow's scoring protocol (/invocations): the request examples of MLflow's own
documentation ("Deploy MLflow Models", local REST API), its answers and its errors."""

from __future__ import annotations

from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
orjson = pytest.importorskip("orjson")

from keel.errors import NotFound, PayloadTooLarge  # noqa: E402
from keel.models.signature import ColumnSpec, Signature, TensorSpec  # noqa: E402
from keel.serving.decoding import RequestSchema  # noqa: E402
from keel.serving.errors import BadRequest, Unprocessable, UnsupportedMediaType  # noqa: E402
from keel.serving.protocols import mlflow  # noqa: E402

ABC = RequestSchema(Signature([ColumnSpec(name, "int64") for name in "abc"]), takes_params=True)
MIXED = RequestSchema(
    Signature(
        [ColumnSpec("a", "string"), ColumnSpec("b", "int64"), ColumnSpec("c", "int64", shape=(3,))]
    )
)
TENSOR = RequestSchema(Signature(TensorSpec("int64", (-1, 3))))


def decode(body: Any, schema: RequestSchema, content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return mlflow.decode(raw, content_type, schema)


def values(table: Any) -> dict[str, list]:
    return {name: array.tolist() for name, array in table.columns.items()}


DOCUMENTED = [
    {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3], [4, 5, 6]]}},
    {"dataframe_records": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]},
    {"instances": [[1, 2, 3], [4, 5, 6]]},
    {"inputs": [[1, 2, 3], [4, 5, 6]]},
    {"inputs": {"a": [1, 4], "b": [2, 5], "c": [3, 6]}},
    {"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]},
]


@pytest.mark.parametrize("body", DOCUMENTED)
def test_every_documented_json_format_gives_the_same_table(body: dict) -> None:
    assert values(decode(body, ABC)) == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


def test_dataframe_split_keeps_an_index_and_may_leave_out_columns() -> None:
    body = {"dataframe_split": {"index": [7, 8], "data": [[1, 2, 3], [4, 5, 6]]}}
    assert values(decode(body, ABC)) == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


def test_the_documented_tensor_example() -> None:
    table = decode({"instances": [[1, 2, 3], [4, 5, 6]]}, TENSOR)
    assert table.tensor and table.columns["input"].tolist() == [[1, 2, 3], [4, 5, 6]]


def test_the_documented_mixed_example_with_array_values() -> None:
    body = {
        "inputs": {"a": ["s1", "s2", "s3"], "b": [1, 2, 3], "c": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}
    }
    table = decode(body, MIXED)
    assert table.columns["a"].tolist() == ["s1", "s2", "s3"]
    assert [value.tolist() for value in table.columns["c"]] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    body["inputs"]["c"][1] = [4, 5]
    with pytest.raises(Unprocessable) as caught:
        decode(body, MIXED)
    assert caught.value.problems == ["column 'c': row 1: expected shape (3), got (2,)"]


def test_params_go_with_the_table() -> None:
    body = {"dataframe_records": [{"a": 1, "b": 2, "c": 3}], "params": {"max_answer_len": 10}}
    assert decode(body, ABC).params == {"max_answer_len": 10}


def test_nan_written_by_python_json_encoders_is_read() -> None:
    schema = RequestSchema(Signature([ColumnSpec("x", "float64"), ColumnSpec("y", "float64")]))
    body = b'{"dataframe_records": [{"x": NaN, "y": -Infinity}]}'
    table = decode(body, schema)
    assert np.isnan(table.columns["x"][0]) and table.columns["y"][0] == -np.inf
    with pytest.raises(BadRequest, match="not valid JSON"):
        decode(b'{"dataframe_records": [{"x": NaN}', schema)


def test_the_documented_csv_example() -> None:
    table = decode(b"a,b,c\n1,2,3\n4,5,6\n", ABC, "text/csv")
    assert values(table) == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "body: not valid JSON"),
        (b"[1]", "exactly one of the input fields"),
        ({"data": [1]}, "Received dictionary with input fields: ['data']"),
        ({"instances": [[1]], "inputs": [[1]]}, "Received dictionary with input fields"),
        ({"dataframe_split": [1]}, "dataframe_split: expected an object with 'columns' and 'data'"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "dataframe_split.data[0]"),
        ({"dataframe_split": {"columns": ["a", "a"], "data": []}}, "columns: repeated 'a'"),
        ({"dataframe_records": {"a": 1}}, "dataframe_records: expected a list of row objects"),
    ],
)
def test_malformed_bodies(body: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode(body, ABC)
    assert message in caught.value.message
    status, answer, media = mlflow.error_answer(caught.value)
    assert (status, media) == (400, "application/json")
    assert orjson.loads(answer) == {"error_code": "BAD_REQUEST", "message": caught.value.message}


def test_a_schema_mismatch_is_answered_as_mlflow_answers_it() -> None:
    with pytest.raises(Unprocessable) as caught:
        decode({"dataframe_records": [{"a": "x", "b": 2}]}, ABC)
    status, answer, _ = mlflow.error_answer(caught.value)
    assert status == 400
    assert orjson.loads(answer) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Failed to enforce schema of data: missing column 'c' (int64); column "
        "'a': expected int64; row 0 has string 'x' (strings are not converted to numbers)",
    }


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/json; charset=latin-1", "The scoring server only supports UTF-8"),
        ("application/json; format=pandas-split", "Unrecognized content type parameters: format"),
        ("text/plain", "This predictor only supports the following content types"),
    ],
)
def test_other_content_types_are_415_in_plain_text(content_type: str, message: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decode(b"{}", ABC, content_type)
    status, answer, media = mlflow.error_answer(caught.value)
    assert (status, media) == (415, "text/plain")
    assert answer.decode().startswith(message)


def test_other_errors_keep_their_status_with_mlflow_codes() -> None:
    assert mlflow.error_answer(NotFound("no model"))[:2] == (
        404,
        b'{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no model"}',
    )
    assert mlflow.error_answer(PayloadTooLarge("too big"))[0] == 413


def test_answers_are_mlflow_shaped() -> None:
    assert orjson.loads(mlflow.encode(np.array([1, 2]))) == {"predictions": [1, 2]}
    frame = pd.DataFrame({"label": ["a", "b"], "score": [0.5, 0.25]})
    assert orjson.loads(mlflow.encode(frame)) == {
        "predictions": [{"label": "a", "score": 0.5}, {"label": "b", "score": 0.25}]
    }
    assert orjson.loads(mlflow.encode(pd.Series([1.5, 2.5]))) == {"predictions": [1.5, 2.5]}
    assert orjson.loads(mlflow.encode({"a": np.array([1]), "b": ["x"]})) == {
        "predictions": {"a": [1], "b": ["x"]}
    }

"""The Open Inference Protocol (KServe V2): infer requests as KServe, Triton and MLServer
clients send them, the infer response, model metadata, and bad requests."""

from __future__ import annotations

from typing import Any

import pytest

np = pytest.importorskip("numpy")
orjson = pytest.importorskip("orjson")

from keel.models.signature import ColumnSpec, Signature, TensorSpec  # noqa: E402
from keel.serving.decoding import RequestSchema  # noqa: E402
from keel.serving.errors import BadRequest, Unprocessable  # noqa: E402
from keel.serving.protocols import v2  # noqa: E402

COLUMNS = Signature(
    [ColumnSpec("age", "int32"), ColumnSpec("income", "float32"), ColumnSpec("city", "string")],
    [ColumnSpec("prediction", "int64")],
)
SCHEMA = RequestSchema(COLUMNS)
IMAGES = RequestSchema(Signature(TensorSpec("float32", (-1, 2, 2))))


def decode(body: dict[str, Any], schema: RequestSchema = SCHEMA, **options: Any) -> Any:
    return v2.decode(orjson.dumps(body), schema, **options)


def problems(body: dict[str, Any], schema: RequestSchema = SCHEMA, **options: Any) -> list:
    with pytest.raises(Unprocessable) as caught:
        decode(body, schema, **options)
    return caught.value.problems


def bad_request(body: Any, schema: RequestSchema = SCHEMA) -> str:
    with pytest.raises(BadRequest) as caught:
        v2.decode(body if isinstance(body, bytes) else orjson.dumps(body), schema)
    assert caught.value.status_code == 400
    return caught.value.message


def column_inputs() -> list[dict[str, Any]]:
    return [
        {"name": "age", "shape": [2], "datatype": "INT64", "data": [31, 47]},
        {"name": "income", "shape": [2, 1], "datatype": "FP64", "data": [[1.5], [2.5]]},
        {"name": "city", "shape": [2], "datatype": "BYTES", "data": ["Lyon", "Oslo"]},
    ]


def test_one_input_per_column() -> None:
    request = decode({"id": "r-1", "inputs": column_inputs()})
    assert request.id == "r-1" and request.outputs is None
    table = request.table
    assert table.rows == 2 and list(table.columns) == ["age", "income", "city"]
    assert table.columns["age"].dtype == np.int32  # INT64 values that fit
    assert table.columns["income"].dtype == np.float32
    assert table.columns["city"].tolist() == ["Lyon", "Oslo"]


def test_an_mlserver_style_payload_with_content_types() -> None:
    """MLServer's Python client (``mlserver.codecs.PandasCodec``) marks the request and
    each input with a content type; those are the protocol's, not the model's params."""
    inputs = column_inputs()
    for item in inputs:
        item["parameters"] = {"content_type": "str" if item["name"] == "city" else "np"}
    request = decode({"parameters": {"content_type": "pd"}, "inputs": inputs})
    assert request.table.params is None and request.table.rows == 2


def test_a_kserve_style_single_tensor_for_a_column_model() -> None:
    """KServe's sklearn examples send one ``input-0`` of shape [rows, features]."""
    body = {
        "inputs": [
            {"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, "x", 3, 4, "y"]}
        ]
    }
    assert "datatype FP32 cannot hold string 'x' (data[2])" in bad_request(body)
    body["inputs"][0].update(datatype="BYTES", data=["1", "2", "x", "3", "4", "y"])
    assert problems(body) == [
        "column 'age': expected int32; row 0 has string '1' (strings are not converted to "
        "numbers); also row 1",
        "column 'income': expected float32; row 0 has string '2' (strings are not converted "
        "to numbers); also row 1",
    ]
    numbers = Signature([ColumnSpec("a", "float64"), ColumnSpec("b", "float64")])
    table = decode(
        {
            "inputs": [
                {"name": "input-0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}
            ]
        },
        RequestSchema(numbers),
    ).table
    assert table.columns["a"].tolist() == [1.0, 3.0] and table.columns["b"].tolist() == [2.0, 4.0]


def test_a_tensor_model_takes_one_input_of_its_shape() -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    table = decode(body, IMAGES).table
    assert table.tensor and table.columns["input"].shape == (1, 2, 2)
    assert table.columns["input"].dtype == np.float32
    body["inputs"][0].update(shape=[1, 4], data=[1, 2, 3, 4])
    assert problems(body, IMAGES) == ["input 'x': expected shape (any, 2, 2), got (1, 4)"]
    body["inputs"].append({"name": "y", "shape": [1], "datatype": "FP32", "data": [1]})
    assert problems(body, IMAGES) == ["inputs: a tensor model takes one input, got 2"]


def test_every_column_problem_at_once() -> None:
    inputs = column_inputs()
    inputs[0] = {"name": "age", "shape": [2], "datatype": "FP64", "data": [1.5, 2]}
    inputs[2] = {"name": "town", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}
    found = problems({"inputs": inputs, "parameters": {"k": 1}, "outputs": [{"name": "x"}]})
    assert found == [
        "outputs: unknown 'x'; this model gives predict",
        "params: this model takes no params, got 'k'",
        "missing column 'city' (string)",
        "unknown column 'town' (not in the signature)",
        "column 'age': expected int32, got float64 (converting floats to integers loses the "
        "fraction)",
    ]


def test_columns_of_different_lengths_and_shapes() -> None:
    inputs = column_inputs()
    inputs[1] = {"name": "income", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]}
    assert problems({"inputs": inputs}) == [
        "inputs: every column must have the same number of rows, got 'age': 2, 'income': 3, "
        "'city': 2"
    ]
    inputs[1] = {"name": "income", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}
    assert problems({"inputs": inputs}) == [
        "input 'income': expected shape [rows] or [rows, 1] for one column, got [1, 2]"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "body: not valid JSON"),
        ({"inputs": [], "x": 1}, "body: unknown keys 'x'"),
        ({"inputs": []}, "inputs: expected a non-empty list of input tensors"),
        ({"inputs": [{"name": "a"}]}, "inputs[0]: missing shape, datatype, data"),
        ({"inputs": [5]}, "inputs[0]: expected an object"),
        (
            {"inputs": [{"name": "a", "shape": [2], "datatype": "INT128", "data": [1, 2]}]},
            "input 'a': datatype must be one of BOOL, UINT8",
        ),
        (
            {"inputs": [{"name": "a", "shape": [-1], "datatype": "INT64", "data": [1]}]},
            "input 'a': shape must be a list of sizes (integers >= 0), got [-1]",
        ),
        (
            {"inputs": [{"name": "a", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3]}]},
            "input 'a': shape [2, 2] holds 4 values, data has 3",
        ),
        (
            {"inputs": [{"name": "a", "shape": [1], "datatype": "UINT8", "data": [300]}]},
            "input 'a': a value is out of the range of UINT8",
        ),
        (
            {"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [1.5]}]},
            "input 'a': datatype INT64 cannot hold float64 1.5 (data[0])",
        ),
        (
            {"inputs": [{"name": "a", "shape": [1], "datatype": "BOOL", "data": [1]}]},
            "input 'a': datatype BOOL cannot hold int64 1 (data[0])",
        ),
        (
            {
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "INT64", "data": [1]},
                    {"name": "a", "shape": [1], "datatype": "INT64", "data": [1]},
                ]
            },
            "inputs: names repeated: 'a'",
        ),
        ({"id": 5, "inputs": []}, "id: expected a string"),
        (
            {
                "inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [1]}],
                "outputs": ["predict"],
            },
            'outputs: expected a list of {"name": ...} objects',
        ),
    ],
)
def test_malformed_requests(body: Any, message: str) -> None:
    assert message in bad_request(body)


def test_the_infer_response() -> None:
    body = v2.encode(
        np.array([0, 1]),
        model_name="fraud",
        model_version=3,
        request_id="r-1",
        scores=np.array([[0.9, 0.1], [0.2, 0.8]]),
        classes=np.array([0, 1]),
    )
    assert orjson.loads(body) == {
        "model_name": "fraud",
        "model_version": "3",
        "id": "r-1",
        "outputs": [
            {"name": "predict", "shape": [2], "datatype": "INT64", "data": [0, 1]},
            {
                "name": "predict_proba",
                "shape": [2, 2],
                "datatype": "FP64",
                "data": [0.9, 0.1, 0.2, 0.8],
                "parameters": {"classes": [0, 1]},
            },
        ],
    }
    picked = orjson.loads(
        v2.encode(
            np.array(["yes"], dtype=object),
            model_name="m",
            model_version=None,
            scores=np.array([[0.5, 0.5]]),
            outputs=["predict"],
        )
    )
    assert picked == {
        "model_name": "m",
        "outputs": [{"name": "predict", "shape": [1], "datatype": "BYTES", "data": ["yes"]}],
    }


def test_requested_outputs_are_kept_for_the_answer() -> None:
    request = decode(
        {"inputs": column_inputs(), "outputs": [{"name": "predict_proba"}]}, has_scores=True
    )
    assert request.outputs == ("predict_proba",)


def test_model_metadata_from_the_signature() -> None:
    answer = v2.metadata(
        "fraud", versions=[3], platform="keel_sklearn", signature=COLUMNS, has_scores=True
    )
    assert answer == {
        "name": "fraud",
        "versions": ["3"],
        "platform": "keel_sklearn",
        "inputs": [
            {"name": "age", "datatype": "INT32", "shape": [-1]},
            {"name": "income", "datatype": "FP32", "shape": [-1]},
            {"name": "city", "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": "predict", "datatype": "INT64", "shape": [-1]},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]},
        ],
    }
    tensor = v2.metadata("img", versions=[], platform="keel_onnx", signature=IMAGES.signature)
    assert tensor["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 2, 2]}]


def test_errors_are_answered_as_the_protocol_says() -> None:
    with pytest.raises(Unprocessable) as caught:
        decode({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [1]}]})
    status, body = v2.error_answer(caught.value)
    assert status == 422
    assert orjson.loads(body) == {"error": caught.value.message}


def test_round_trip_predictions_sent_back_as_a_request() -> None:
    """An infer response's output is a valid input tensor for another model."""
    answer = orjson.loads(
        v2.encode(np.array([[1.0, 2.0], [3.0, 4.0]]), model_name="m", model_version=1)
    )
    (tensor,) = answer["outputs"]
    tensor["name"] = "x"
    table = decode(
        {"inputs": [tensor]}, RequestSchema(Signature(TensorSpec("float64", (-1, 2))))
    ).table
    assert table.columns["input"].tolist() == [[1.0, 2.0], [3.0, 4.0]]

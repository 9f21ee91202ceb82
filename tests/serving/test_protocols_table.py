"""Tables: concatenating requests into one predict call, splitting the answer back, and
building what a real model takes (the same predictions as ``LoadedModel.predict``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
orjson = pytest.importorskip("orjson")
pytest.importorskip("sklearn")

from keel.models.package import load_model, save_model  # noqa: E402
from keel.models.signature import ColumnSpec, Signature, TensorSpec  # noqa: E402
from keel.serving.decoding import RequestSchema  # noqa: E402
from keel.serving.protocols import keel as protocol  # noqa: E402
from keel.serving.protocols import mlflow, v2  # noqa: E402
from keel.serving.table import Table, concat, split, to_model_input  # noqa: E402


def test_concat_keeps_the_order_of_rows_and_requests() -> None:
    a = Table({"x": np.array([1.0, 2.0]), "s": np.array(["a", "b"], dtype=object)}, rows=2)
    b = Table({"x": np.array([3.0]), "s": np.array(["c"], dtype=object)}, rows=1)
    batch = concat([a, b])
    assert batch.rows == 3
    assert batch.columns["x"].tolist() == [1.0, 2.0, 3.0]
    assert batch.columns["s"].tolist() == ["a", "b", "c"]
    assert concat([a]) is a


def test_rows_of_one_dtype_are_read_as_one_matrix_and_joined_as_one() -> None:
    from keel.serving.decoding import from_records

    schema = RequestSchema(Signature([ColumnSpec("a", "float64"), ColumnSpec("b", "float64")]))
    first = from_records([{"a": 1.0, "b": 2.0}], schema, where="records")
    second = from_records([{"a": 3, "b": 4.5}, {"a": 5.0, "b": 6.0}], schema, where="records")
    assert first.matrix is not None and second.matrix is not None
    np.testing.assert_array_equal(second.matrix, [[3.0, 4.5], [5.0, 6.0]])
    joined = concat([first, second])
    assert joined.matrix is not None and joined.rows == 3
    np.testing.assert_array_equal(joined.matrix, [[1.0, 2.0], [3.0, 4.5], [5.0, 6.0]])
    assert list(joined.columns) == ["a", "b"]
    np.testing.assert_array_equal(joined.columns["a"], [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(joined.columns["b"], [2.0, 4.5, 6.0])
    # A table read column by column has no matrix: the join goes column by column.
    plain = Table({"a": np.array([7.0]), "b": np.array([8.0])}, rows=1)
    mixed = concat([first, plain])
    assert mixed.matrix is None
    np.testing.assert_array_equal(mixed.columns["b"], [2.0, 8.0])


def test_rows_of_several_dtypes_have_no_matrix() -> None:
    from keel.serving.decoding import from_records

    schema = RequestSchema(Signature([ColumnSpec("a", "float64"), ColumnSpec("n", "int64")]))
    table = from_records([{"a": 1.0, "n": 2}], schema, where="records")
    assert table.matrix is None
    assert table.columns["n"].dtype == np.int64


def test_concat_fills_an_optional_column_a_request_left_out() -> None:
    with_it = Table({"x": np.array([1.0]), "opt": np.array([0.5])}, rows=1)
    without = Table({"x": np.array([2.0, 3.0])}, rows=2)
    batch = concat([without, with_it])
    assert list(batch.columns) == ["x", "opt"]
    assert np.isnan(batch.columns["opt"][:2]).all() and batch.columns["opt"][2] == 0.5
    text = concat([with_it, Table({"x": np.array([2.0]), "t": np.array(["z"], dtype=object)}, 1)])
    assert text.columns["t"].tolist() == [None, "z"]


def test_tables_that_cannot_share_a_call_are_refused() -> None:
    a = Table({"x": np.array([1.0])}, rows=1, params={"k": 1})
    b = Table({"x": np.array([1.0])}, rows=1, params={"k": 2})
    assert a.batch_key != b.batch_key
    with pytest.raises(ValueError, match="differ in params or tensor shape"):
        concat([a, b])
    wide = Table({"input": np.zeros((1, 3))}, rows=1, tensor=True)
    narrow = Table({"input": np.zeros((2, 2))}, rows=2, tensor=True)
    assert wide.batch_key != narrow.batch_key
    same = Table({"input": np.ones((2, 3))}, rows=2, tensor=True)
    assert concat([wide, same]).columns["input"].shape == (3, 3)
    with pytest.raises(ValueError, match="no tables"):
        concat([])


def test_split_gives_each_request_its_rows() -> None:
    predictions = np.array([10, 20, 30, 40])
    scores = np.arange(8.0).reshape(4, 2)
    assert [p.tolist() for p in split(predictions, [1, 3])] == [[10], [20, 30, 40]]
    assert [s.tolist() for s in split(scores, [3, 1])] == [
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]],
        [[6.0, 7.0]],
    ]
    images = np.zeros((3, 2, 2))
    assert [part.shape for part in split(images, [2, 1])] == [(2, 2, 2), (1, 2, 2)]
    frame = pd.DataFrame({"label": ["a", "b", "c"]}, index=[5, 6, 7])
    parts = split(frame, [2, 1])
    assert parts[1]["label"].tolist() == ["c"]
    both = split({"p": predictions, "s": scores}, [2, 2])
    assert both[1]["p"].tolist() == [30, 40] and both[1]["s"].shape == (2, 2)
    assert split(["x", "y"], [1, 1]) == [["x"], ["y"]]
    with pytest.raises(ValueError, match="answered 4 rows for 5 rows of input"):
        split(predictions, [2, 3])


def test_to_model_input_builds_the_signature_dtypes() -> None:
    signature = Signature(
        [
            ColumnSpec("n", "int32"),
            ColumnSpec("m", "int64", optional=True),
            ColumnSpec("s", "string"),
            ColumnSpec("gone", "float64", optional=True),
        ]
    )
    schema = RequestSchema(signature)
    a = protocol.decode_json(orjson.dumps({"records": [{"n": 1, "m": 5, "s": "a"}]}), schema)
    b = protocol.decode_json(orjson.dumps({"records": [{"n": 2, "m": None, "s": "b"}]}), schema)
    frame = to_model_input(concat([a, b]), signature)
    assert list(frame.columns) == ["n", "m", "s"]  # "gone" given by no request: left out
    assert str(frame["n"].dtype) == "int32" and str(frame["m"].dtype) == "Int64"
    assert frame["m"].isna().tolist() == [False, True]
    tensor = Table({"input": np.ones((2, 3), dtype="float32")}, rows=2, tensor=True)
    assert (
        to_model_input(tensor, Signature(TensorSpec("float32", (-1, 3)))) is tensor.columns["input"]
    )
    unsigned = to_model_input(Table({"x": np.array([1, 2])}, rows=2), None)
    assert unsigned["x"].tolist() == [1, 2]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 200).astype("int32"),
            "income": rng.normal(50, 10, 200),
            "score": rng.normal(size=200).astype("float32"),
        }
    )
    labels = (frame["income"] + 5 * frame["score"] > 50).astype("int64")
    model = LogisticRegression(max_iter=500).fit(frame, labels)
    path: Path = tmp_path_factory.mktemp("model") / "clf"
    save_model(model, path, input_example=frame.head(5), onnx=False)
    return load_model(path, trust=True), frame


def test_a_real_model_gives_the_same_predictions_as_load_model_predict(classifier: Any) -> None:
    loaded, frame = classifier
    signature = loaded.signature
    schema = RequestSchema.of(loaded)
    assert not schema.takes_params
    rows = frame.head(7)
    records = orjson.dumps({"records": rows.to_dict(orient="records")})
    csv = rows.to_csv(index=False).encode()
    split_body = orjson.dumps({"dataframe_split": rows.to_dict(orient="split")})
    requests = [
        protocol.decode(records, None, schema),
        protocol.decode(csv, "text/csv", schema),
        mlflow.decode(split_body, "application/json", schema),
        v2.decode(
            orjson.dumps(
                {
                    "inputs": [
                        {
                            "name": name,
                            "shape": [len(rows)],
                            "datatype": {"int32": "INT32", "float64": "FP64"}.get(
                                str(rows[name].dtype), "FP32"
                            ),
                            "data": rows[name].tolist(),
                        }
                        for name in rows.columns
                    ]
                }
            ),
            schema,
        ).table,
    ]
    batch = concat(requests)
    model_input = to_model_input(batch, signature)
    predicted = loaded.model.predict(model_input)
    expected = loaded.predict(rows)
    for part in split(predicted, [table.rows for table in requests]):
        np.testing.assert_array_equal(part, expected)
    estimator = loaded.model.estimator  # class scores, as the runtime asks for them
    scores = estimator.predict_proba(model_input)
    for part in split(scores, [table.rows for table in requests]):
        np.testing.assert_allclose(part, estimator.predict_proba(rows))

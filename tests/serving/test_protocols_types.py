"""Column types across protocols: binary, datetimes, optional nulls, array-valued
columns, bodies without a signature, the fast path agreeing with the slow one, and the
shapes of answers for tables and N-D predictions."""

from __future__ import annotations

import io
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
orjson = pytest.importorskip("orjson")

from keel.models.signature import ColumnSpec, Signature, TensorSpec  # noqa: E402
from keel.serving import fastpath  # noqa: E402
from keel.serving.decoding import RequestSchema, from_columns  # noqa: E402
from keel.serving.errors import MAX_PROBLEMS, Unprocessable  # noqa: E402
from keel.serving.protocols import keel as protocol  # noqa: E402
from keel.serving.table import to_model_input  # noqa: E402

UNSIGNED = RequestSchema(None)
KINDS = RequestSchema(
    Signature(
        [
            ColumnSpec("blob", "binary"),
            ColumnSpec("when", "datetime"),
            ColumnSpec("count", "int64", optional=True),
            ColumnSpec("flag", "bool", optional=True),
        ]
    )
)


def decode(body: Any, schema: RequestSchema, content_type: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return protocol.decode(raw, content_type, schema)


def arrow(table: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_binary_is_base64_and_datetimes_are_iso_8601_taken_to_utc() -> None:
    rows = [
        {"blob": "aGVsbG8=", "when": "2026-01-01T12:00:00+02:00", "count": 3, "flag": True},
        {"blob": "", "when": "2026-01-01", "count": None},
    ]
    table = decode({"records": rows}, KINDS)
    assert table.columns["blob"].tolist() == [b"hello", b""]
    assert table.columns["when"].astype(str).tolist() == [
        "2026-01-01T10:00:00.000000",
        "2026-01-01T00:00:00.000000",
    ]
    frame = to_model_input(table, KINDS.signature)
    assert [str(dtype) for dtype in frame.dtypes] == [
        "object",
        "datetime64[us]",
        "Int64",
        "boolean",
    ]
    assert frame["count"].isna().tolist() == [False, True]
    assert frame["flag"].isna().tolist() == [False, True]


def test_bad_binary_and_datetimes_are_named() -> None:
    with pytest.raises(Unprocessable) as caught:
        decode({"records": [{"blob": "!!", "when": "soon"}]}, KINDS)
    assert caught.value.problems == [
        "column 'blob': expected binary as base64 text; row 0 is not base64",
        "column 'when': expected datetime (ISO 8601 text); row 0 is not, e.g. string 'soon'",
    ]


def test_arrow_bytes_and_timestamps_keep_their_types() -> None:
    table = pa.table(
        {
            "blob": pa.array([b"\x00\x01"], pa.binary()),
            "when": pa.array([86_400_000], pa.timestamp("ms")),
        }
    )
    decoded = decode(arrow(table), KINDS, protocol.bodies.ARROW)
    assert decoded.columns["blob"].tolist() == [b"\x00\x01"]
    assert decoded.columns["when"].astype(str).tolist() == ["1970-01-02T00:00:00.000000"]


def test_array_valued_columns() -> None:
    schema = RequestSchema(Signature([ColumnSpec("vec", "float32", shape=(2,))]))
    table = decode({"records": [{"vec": [1, 2]}, {"vec": [3.5, 4]}]}, schema)
    assert [value.dtype for value in table.columns["vec"]] == [np.float32, np.float32]
    with pytest.raises(Unprocessable) as caught:
        decode({"records": [{"vec": ["a", "b"]}]}, schema)
    assert caught.value.problems == ["column 'vec': row 0: expected float32 values, got <U1"]


def test_without_a_signature_csv_and_arrow_give_their_own_types() -> None:
    table = decode(b"a,b,c\n1,x,2.5\n2,,\n", UNSIGNED, "text/csv")
    assert table.columns["a"].dtype == np.int64
    assert table.columns["b"].tolist() == ["x", None]
    assert table.columns["c"][0] == 2.5 and np.isnan(table.columns["c"][1])
    typed = decode(
        arrow(pa.table({"x": pa.array([1, 2], pa.int16())})),
        UNSIGNED,
        "application/vnd.apache.arrow.stream",
    )
    assert typed.columns["x"].dtype == np.int16
    frame = to_model_input(table, None)
    assert list(frame.columns) == ["a", "b", "c"]


def test_an_arrow_request_for_a_tensor_model_is_typed() -> None:
    schema = RequestSchema(Signature(TensorSpec("float64", (-1, 2))))
    table = decode(
        arrow(pa.table({"a": [1.0, 2.0], "b": [3.0, 4.0]})), schema, protocol.bodies.ARROW
    )
    assert table.columns["input"].tolist() == [[1.0, 3.0], [2.0, 4.0]]
    narrow = RequestSchema(Signature(TensorSpec("float32", (-1, 2))))
    with pytest.raises(Unprocessable) as caught:
        decode(arrow(pa.table({"a": [1.0], "b": [3.0]})), narrow, protocol.bodies.ARROW)
    assert caught.value.problems == ["body: expected a tensor of float32, got float64"]


@pytest.mark.parametrize(
    "signature",
    [
        Signature(
            [ColumnSpec("a", "float32"), ColumnSpec("b", "int32"), ColumnSpec("c", "string")]
        ),
        Signature([ColumnSpec("a", "float64"), ColumnSpec("b", "bool"), ColumnSpec("c", "int64")]),
    ],
)
def test_the_fast_path_and_the_slow_path_agree(signature: Signature) -> None:
    schema = RequestSchema(signature)
    assert schema.plan is not None
    values = {
        "float32": [1, 2.5, True],
        "float64": [1, 2.5, False],
        "int32": [1, 2, 2**31 - 1],
        "int64": [1, -(2**63), 3],
        "bool": [True, False, True],
        "string": ["x", "y", "z"],
    }
    lists = {spec.name: values[spec.dtype] for spec in signature.columns}
    fast = fastpath.from_lists(schema.plan, lists, 3)
    records = [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]
    assert fast is not None
    by_records = fastpath.from_records(schema.plan, records)
    assert by_records is not None
    slow = from_columns(lists, schema, where="columns", rows=3).columns
    for name, array in slow.items():
        for other in (fast, by_records):
            assert other[name].dtype == array.dtype
            np.testing.assert_array_equal(other[name], array)


def test_the_fast_path_steps_aside_for_what_it_cannot_take() -> None:
    plan = RequestSchema(Signature([ColumnSpec("a", "int32"), ColumnSpec("s", "string")])).plan
    assert plan is not None
    assert fastpath.from_lists(plan, {"a": [2**31], "s": ["x"]}, 1) is None  # too large
    assert fastpath.from_lists(plan, {"a": [1.5], "s": ["x"]}, 1) is None  # a float
    assert fastpath.from_lists(plan, {"a": [1], "s": [None]}, 1) is None  # a null
    assert fastpath.from_records(plan, [{"a": 1}]) is None  # a column left out
    assert fastpath.plan_of(KINDS.signature) is None  # binary and datetime columns


def test_at_most_a_hundred_problems_are_listed() -> None:
    schema = RequestSchema(Signature([ColumnSpec(f"c{i}", "int64") for i in range(150)]))
    with pytest.raises(Unprocessable) as caught:
        decode({"columns": {f"c{i}": ["x"] for i in range(150)}}, schema)
    assert len(caught.value.problems) == MAX_PROBLEMS + 1
    assert caught.value.problems[-1] == "... and 50 more problems"


def test_answers_for_tables_and_n_d_predictions() -> None:
    one = protocol.encode_json(
        pd.DataFrame({"p": [1, 2]}), ids=["a", "b"], model_name="m", model_version=1
    )
    assert orjson.loads(one)["predictions"] == [1, 2]
    several = pd.DataFrame({"p": [1, 2], "q": ["x", "y"]})
    answer = orjson.loads(
        protocol.encode_json(several, ids=["a", "b"], model_name="m", model_version=1)
    )
    assert answer["predictions"] == [{"p": 1, "q": "x"}, {"p": 2, "q": "y"}]
    content, _ = protocol.encode(
        np.arange(6.0).reshape(3, 2),
        ids=["a", "b", "c"],
        model_name="m",
        model_version=1,
        accept=protocol.bodies.ARROW,
    )
    table = pa.ipc.open_stream(io.BytesIO(content)).read_all()
    assert table.column("prediction").to_pylist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


def test_a_custom_python_model_takes_params(tmp_path: Any) -> None:
    import keel.pyfunc
    from keel.models.package import load_model, save_model

    class Echo(keel.pyfunc.PythonModel):
        def predict(self, context: Any, data: Any, params: Any = None) -> Any:
            return np.full(len(data), (params or {}).get("k", 0))

    save_model(Echo(), tmp_path / "echo", input_example=pd.DataFrame({"x": [1.0]}))
    loaded = load_model(tmp_path / "echo", trust=True)
    schema = RequestSchema.of(loaded)
    assert schema.takes_params
    table = decode({"records": [{"x": 2.0}], "params": {"k": 7}}, schema)
    model_input = to_model_input(table, schema.signature)
    assert loaded.model.predict(model_input, params=table.params).tolist() == [7]

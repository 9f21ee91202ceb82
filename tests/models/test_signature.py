"""Signatures: inferred from every input kind, kept as JSON, and enforced with one error
that names every problem."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from keel.errors import InvalidArgument
from keel.models import ColumnSpec, Signature, TensorSpec, enforce, infer_signature

MIXED = {
    "flag": [True, False],
    "small": np.array([1, 2], dtype="int32"),
    "count": [1, 2],
    "ratio32": np.array([0.5, 1.5], dtype="float32"),
    "ratio": [0.5, 1.5],
    "city": ["Oslo", "Lima"],
    "when": [datetime.datetime(2024, 1, 1), datetime.datetime(2024, 6, 1)],
    "blob": [b"\x00\x01", b"\x02"],
}
EXPECTED = {
    "flag": "bool",
    "small": "int32",
    "count": "int64",
    "ratio32": "float32",
    "ratio": "float64",
    "city": "string",
    "when": "datetime",
    "blob": "binary",
}


def dtypes_of(signature: Signature) -> dict[str, str]:
    return {column.name: column.dtype for column in signature.columns}


# inference --------------------------------------------------------------------------------


def test_infers_every_dtype_from_pandas() -> None:
    assert dtypes_of(infer_signature(pd.DataFrame(MIXED))) == EXPECTED


def test_infers_every_dtype_from_polars() -> None:
    frame = pl.DataFrame(
        {name: list(values) for name, values in MIXED.items()},
        schema_overrides={"small": pl.Int32, "ratio32": pl.Float32},
    )
    assert dtypes_of(infer_signature(frame)) == EXPECTED


def test_infers_from_records_and_a_single_dict() -> None:
    records = [{"x": 1, "name": "a"}, {"x": 2, "name": "b", "y": 0.5}]
    assert dtypes_of(infer_signature(records)) == {"x": "int64", "name": "string", "y": "float64"}
    assert dtypes_of(infer_signature({"x": 1.5})) == {"x": "float64"}


def test_infers_a_tensor_from_numpy_with_any_batch_size() -> None:
    signature = infer_signature(np.zeros((5, 28, 28), dtype="float32"))
    assert signature.is_tensor
    assert signature.inputs == TensorSpec("float32", (-1, 28, 28))


def test_infers_outputs() -> None:
    signature = infer_signature(np.zeros((3, 2)), model_output=pd.Series([1, 2, 3], name="label"))
    assert signature.outputs == (ColumnSpec("label", "int64"),)
    assert infer_signature(np.zeros((3, 2)), model_output=[0, 1, 1]).outputs == TensorSpec(
        "int64", (-1,)
    )


def test_refuses_columns_it_cannot_type() -> None:
    frame = pd.DataFrame({"ok": [1, 2], "mixed": [1, "a"], "big": np.array([1, 2], "uint64")})
    with pytest.raises(InvalidArgument, match="'mixed', 'big'"):
        infer_signature(frame)


def test_refuses_inputs_that_are_not_tables_or_arrays() -> None:
    with pytest.raises(InvalidArgument, match="expected a pandas DataFrame"):
        infer_signature("not data")


# the types themselves ---------------------------------------------------------------------


def test_round_trips_through_json_form() -> None:
    signature = Signature(
        [
            ColumnSpec("a", "float64"),
            ColumnSpec("b", "string", optional=True),
            ColumnSpec("v", "float32", shape=(-1, 3)),
        ],
        outputs=TensorSpec("float32", (-1, 2)),
    )
    assert Signature.from_dict(signature.to_dict()) == signature


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"inputs": {"type": "columns", "columns": []}}, "non-empty list"),
        ({"inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "int8"}]}}, "int8"),
        ({"inputs": {"type": "columns", "columns": [{"name": "", "dtype": "bool"}]}}, "name"),
        (
            {"inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "bool"}] * 2}},
            "unique",
        ),
        ({"inputs": {"type": "tensor", "dtype": "string", "shape": [-1]}}, "tensor dtype"),
        ({"inputs": {"type": "tensor", "dtype": "float32", "shape": [0]}}, "tensor shape"),
        ({"inputs": {"type": "python", "module": "os"}}, "unknown keys"),
        ({"inputs": {"type": "table"}}, "'type' must be"),
        ({"outputs": None}, "must have 'inputs'"),
        ({"inputs": [], "extra": 1}, "unknown keys"),
    ],
)
def test_invalid_json_forms_are_refused_naming_the_field(raw: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Signature.from_dict(raw)


# enforcement ------------------------------------------------------------------------------

SIGNATURE = Signature(
    [
        ColumnSpec("age", "int64"),
        ColumnSpec("income", "float64"),
        ColumnSpec("city", "string"),
        ColumnSpec("score", "float32", optional=True),
    ]
)


def test_one_error_lists_every_missing_extra_and_mistyped_column() -> None:
    data = pd.DataFrame({"age": [1.5], "city": [3], "typo": [1], "other": [2]})
    with pytest.raises(InvalidArgument) as caught:
        enforce(SIGNATURE, data)
    message = caught.value.message
    assert "missing column 'income' (float64)" in message
    assert "extra columns 'typo', 'other' (not in the signature)" in message
    assert "column 'age': expected int64, got float64 (converting floats" in message
    assert "column 'city': expected string, got int64" in message
    assert "score" not in message  # optional, so its absence is fine


def test_widening_is_applied_and_columns_come_out_in_signature_order() -> None:
    data = pd.DataFrame(
        {
            "score": np.array([1.0], "float32"),
            "city": ["x"],
            "income": np.array([7], "int32"),
            "age": np.array([True]),
        }
    )
    out = enforce(SIGNATURE, data)
    assert list(out.columns) == ["age", "income", "city", "score"]
    assert out.dtypes["age"] == np.int64
    assert out.dtypes["income"] == np.float64
    assert out["income"].tolist() == [7.0]


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("age", np.array([1.0, 2.0]), "loses the fraction"),
        ("age", ["1", "2"], "strings are not converted to numbers"),
        ("income", ["1.5", "2"], "strings are not converted to numbers"),
        ("score", np.array([0.1, 0.2]), "float64 to float32 loses precision"),
        ("age", pd.array([1, None], dtype="Float64"), "missing values"),
    ],
)
def test_lossy_conversions_are_refused(column: str, values: Any, reason: str) -> None:
    base: dict[str, Any] = {"age": [1, 2], "income": [1.0, 2.0], "city": ["a", "b"]}
    base[column] = values
    with pytest.raises(InvalidArgument, match=reason):
        enforce(SIGNATURE, pd.DataFrame(base))


def test_int64_to_int32_is_refused_for_typed_input() -> None:
    signature = Signature([ColumnSpec("n", "int32")])
    with pytest.raises(InvalidArgument, match="may overflow"):
        enforce(signature, pd.DataFrame({"n": np.array([1], "int64")}))


def test_untyped_records_fit_the_signature_by_value() -> None:
    signature = Signature(
        [ColumnSpec("n", "int32"), ColumnSpec("x", "float32"), ColumnSpec("t", "datetime")]
    )
    out = enforce(signature, [{"n": 3, "x": 0.25, "t": "2024-05-01T12:00:00"}])
    assert out.dtypes["n"] == np.int32
    assert out.dtypes["x"] == np.float32
    assert out["t"].iloc[0] == pd.Timestamp("2024-05-01T12:00:00")
    with pytest.raises(InvalidArgument, match="column 'n'"):
        enforce(signature, [{"n": 2**40, "x": 1.0, "t": "2024-05-01"}])
    with pytest.raises(InvalidArgument, match="ISO 8601"):
        enforce(signature, {"n": 1, "x": 1.0, "t": "yesterday"})


def test_optional_columns_may_be_missing_but_not_mistyped() -> None:
    base = {"age": [1], "income": [1.0], "city": ["a"]}
    assert list(enforce(SIGNATURE, pd.DataFrame(base)).columns) == ["age", "income", "city"]
    with pytest.raises(InvalidArgument, match="column 'score'"):
        enforce(SIGNATURE, pd.DataFrame({**base, "score": ["high"]}))


def test_numpy_input_takes_the_signature_column_names_in_order() -> None:
    signature = Signature([ColumnSpec("a", "float64"), ColumnSpec("b", "float64")])
    out = enforce(signature, np.array([[1.0, 2.0]]))
    assert out.to_dict("records") == [{"a": 1.0, "b": 2.0}]
    with pytest.raises(InvalidArgument, match="3 columns"):
        enforce(signature, np.zeros((1, 3)))


def test_polars_with_missing_integers_says_so() -> None:
    signature = Signature([ColumnSpec("n", "int64")])
    with pytest.raises(InvalidArgument, match="missing values"):
        enforce(signature, pl.DataFrame({"n": [1, None]}))


def test_tensor_enforcement_widens_and_checks_shape() -> None:
    signature = Signature(TensorSpec("float64", (-1, 2)))
    out = enforce(signature, np.ones((3, 2), dtype="float32"))
    assert out.dtype == np.float64 and out.shape == (3, 2)
    with pytest.raises(InvalidArgument) as caught:
        enforce(Signature(TensorSpec("int32", (-1, 2))), np.ones((3, 4), dtype="float32"))
    assert "expected a tensor of int32, got float32" in caught.value.message
    assert "expected shape (any, 2), got (3, 4)" in caught.value.message


def test_tensor_from_records_is_untyped_and_may_narrow_to_float32() -> None:
    signature = Signature(TensorSpec("float32", (-1, 2)))
    out = enforce(signature, [{"a": 0.5, "b": 1.0}, {"a": 2.0, "b": 3.0}])
    assert out.dtype == np.float32
    assert out.tolist() == [[0.5, 1.0], [2.0, 3.0]]


def test_array_valued_columns_check_each_value_shape() -> None:
    signature = Signature([ColumnSpec("v", "float64", shape=(-1, 2))])
    good = pd.DataFrame({"v": [np.ones((3, 2)), np.zeros((1, 2))]})
    assert enforce(signature, good)["v"].iloc[0].shape == (3, 2)
    with pytest.raises(InvalidArgument, match=r"row 1: expected shape \(any, 2\)"):
        enforce(signature, pd.DataFrame({"v": [np.ones((3, 2)), np.zeros((2, 3))]}))


# outputs -------------------------------------------------------------------------------


def test_the_output_of_labels_is_a_prediction_column() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    labels = np.array(["yes", "no"], dtype=object)
    assert infer_signature(frame, labels).outputs == (ColumnSpec("prediction", "string"),)
    assert infer_signature(frame, ["yes", "no"]).outputs == (ColumnSpec("prediction", "string"),)
    assert infer_signature(frame, pd.DataFrame({"p": [0.1, 0.9]})).outputs == (
        ColumnSpec("p", "float64"),
    )


def test_saving_with_an_example_records_what_the_model_answers(tmp_path: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    from keel.models import save_model

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = np.array(["low", "low", "high", "high"])
    manifest = save_model(LogisticRegression().fit(X, y), tmp_path / "m", input_example=X)
    assert manifest.signature is not None
    assert manifest.signature.outputs == (ColumnSpec("prediction", "string"),)
    # A signature the caller gives is kept as given: nothing is added to it.
    given = infer_signature(X)
    kept = save_model(
        LogisticRegression().fit(X, y), tmp_path / "n", signature=given, input_example=X
    )
    assert kept.signature == given


class Refuses:
    def predict(self, data: Any) -> Any:
        raise ValueError("this model refuses every input")


def test_a_model_that_fails_on_its_example_is_saved_without_outputs(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from keel.models import save_model

    with caplog.at_level("WARNING", logger="keel.models"):
        manifest = save_model(Refuses(), tmp_path / "m", input_example=np.zeros((2, 3)))
    assert manifest.signature == Signature(TensorSpec("float64", (-1, 3)))
    assert "outputs not recorded" in caplog.text
    assert "refuses every input" in caplog.text

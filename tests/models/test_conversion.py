"""The ONNX copy saved beside a scikit-learn model: kept only when it answers exactly as
the original did, loaded by default (without scikit-learn, skops or pickle), and the
original still one ``flavor=`` away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keel.errors import CorruptData, Forbidden, InvalidArgument
from keel.models import load_model, save_model

from .support import replace_file

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")


def frame(rows: int, seed: int = 3) -> Any:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])


def forest(labels: Any = None) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    x = frame(300)
    y = (x["a"] + x["b"] > 0).astype(int) if labels is None else labels(x)
    return RandomForestClassifier(n_estimators=15, random_state=0).fit(x, y)


def test_a_classifier_gets_a_copy_that_loads_by_default_and_answers_the_same(
    tmp_path: Path,
) -> None:
    model = forest()
    manifest = save_model(model, tmp_path / "m", input_example=frame(5))
    copy = manifest.flavors["onnx"]
    assert manifest.flavor == "sklearn"
    assert copy["converted_from"] == "sklearn" and copy["input_type"] == "float64"
    assert copy["verified_rows"] == 5 + 256
    assert "model.onnx" in manifest.files
    assert any(line.startswith("onnxruntime==") for line in manifest.requirements)

    loaded = load_model(tmp_path / "m")
    fresh = frame(2000, seed=11)
    assert loaded.flavor == "onnx"
    np.testing.assert_array_equal(loaded.predict(fresh), model.predict(fresh))
    np.testing.assert_array_equal(loaded.predict(fresh.to_dict("records")), model.predict(fresh))
    shuffled = fresh[["d", "c", "b", "a"]]  # columns are matched by name, not position
    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(fresh))

    assert list(loaded.model.classes_) == [0, 1]
    np.testing.assert_allclose(
        loaded.model.predict_proba(fresh), model.predict_proba(fresh), atol=1e-6
    )

    original = load_model(tmp_path / "m", flavor="sklearn", trust=True)  # trees: see below
    assert original.flavor == "sklearn"
    assert type(original.model.estimator).__name__ == "RandomForestClassifier"


def test_string_labels_come_back_as_the_same_strings(tmp_path: Path) -> None:
    model = forest(lambda x: np.where(x["a"] > 0, "yes", "no"))
    save_model(model, tmp_path / "m", input_example=frame(8))
    loaded = load_model(tmp_path / "m")
    assert loaded.flavor == "onnx"
    fresh = frame(500, seed=5)
    assert list(loaded.predict(fresh)) == list(model.predict(fresh))


def test_a_regressor_keeps_its_float64_answers(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge

    x = frame(200)
    model = Ridge().fit(x, x["a"] * 2 - x["c"])
    save_model(model, tmp_path / "m", input_example=x.head(5))
    loaded = load_model(tmp_path / "m")
    assert loaded.flavor == "onnx"
    predicted = loaded.predict(frame(300, seed=9))
    assert predicted.dtype == np.float64 and predicted.shape == (300,)
    np.testing.assert_allclose(predicted, model.predict(frame(300, seed=9)), rtol=1e-9)


def test_a_copy_that_only_approximates_is_not_kept(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestRegressor

    x = frame(200)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(x, x["a"] * 3)
    manifest = save_model(model, tmp_path / "auto", input_example=x.head(5))
    assert sorted(manifest.flavors) == ["sklearn"]  # onnxruntime runs these trees in float32
    # With no faithful copy, its trees (unsafe from an untrusted file) need trust.
    with pytest.raises(Forbidden, match="ONNX copy"):
        load_model(tmp_path / "auto")
    assert load_model(tmp_path / "auto", trust=True).flavor == "sklearn"

    with pytest.raises(InvalidArgument, match=r"onnx: no faithful ONNX copy .*differ"):
        save_model(model, tmp_path / "required", input_example=x.head(5), onnx=True)
    assert list(tmp_path.iterdir()) == [tmp_path / "auto"]  # nothing half-written


def test_onnx_false_and_no_example_make_no_copy(tmp_path: Path) -> None:
    model = forest()
    off = save_model(model, tmp_path / "off", input_example=frame(5), onnx=False)
    assert "onnx" not in off.flavors
    assert "onnx" not in save_model(model, tmp_path / "bare").flavors
    with pytest.raises(InvalidArgument, match="an input example is needed"):
        save_model(model, tmp_path / "required", onnx=True)
    with pytest.raises(InvalidArgument, match="onnx: must be True, False or None"):
        save_model(model, tmp_path / "bad", input_example=frame(5), onnx="yes")  # type: ignore[arg-type]


def test_asking_for_a_flavor_the_package_lacks_names_the_ones_it_has(tmp_path: Path) -> None:
    save_model(forest(), tmp_path / "m", input_example=frame(5))
    with pytest.raises(
        InvalidArgument, match=r"flavor: this model has onnx, sklearn, not 'xgboost'"
    ):
        load_model(tmp_path / "m", flavor="xgboost")


def test_a_pickled_model_serves_from_its_copy_without_unpickling(tmp_path: Path) -> None:
    save_model(forest(), tmp_path / "m", input_example=frame(5), serialization="pickle")
    loaded = load_model(tmp_path / "m")  # no trust: the pickle is never opened
    assert loaded.flavor == "onnx"
    assert loaded.predict(frame(3)).shape == (3,)
    with pytest.raises(Forbidden, match="pickle"):
        load_model(tmp_path / "m", flavor="sklearn")


def test_a_tampered_copy_is_refused(tmp_path: Path) -> None:
    save_model(forest(), tmp_path / "m", input_example=frame(5))
    onnx_file = tmp_path / "m" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:-1] + b"\x00")
    with pytest.raises(CorruptData, match=r"'model\.onnx' does not match its BLAKE3"):
        load_model(tmp_path / "m")


def test_a_copy_that_is_not_onnx_is_refused_with_the_reason(tmp_path: Path) -> None:
    save_model(forest(), tmp_path / "m", input_example=frame(5))
    replace_file(tmp_path / "m", "model.onnx", b"not an onnx graph")
    with pytest.raises(InvalidArgument, match=r"model.onnx: onnxruntime cannot load it"):
        load_model(tmp_path / "m")


def test_untrusted_trees_are_refused_from_skops_and_served_by_their_onnx_copy(
    tmp_path: Path,
) -> None:
    """skops documents sklearn.tree._tree.Tree as unsafe for untrusted files: without
    trust the skops file is refused, saying how to load it; the ONNX copy serves it."""
    from keel.models.flavors.sklearn import ALLOWED_TYPES, unsafe_types

    assert "sklearn.tree._tree.Tree" in unsafe_types()
    assert not ALLOWED_TYPES & unsafe_types()
    model = forest()
    save_model(model, tmp_path / "m", input_example=frame(5))
    with pytest.raises(Forbidden, match=r"documents as unsafe.*ONNX copy"):
        load_model(tmp_path / "m", flavor="sklearn")
    served = load_model(tmp_path / "m")
    assert served.flavor == "onnx"
    fresh = frame(50, seed=5)
    np.testing.assert_array_equal(served.predict(fresh), model.predict(fresh))

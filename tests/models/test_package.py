"""Loading refuses what it should before any model library reads a byte: pickles without
trust, changed or planted files, unknown flavors, paths out of the package."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keel.config import Settings
from keel.errors import AlreadyExists, CorruptData, Forbidden, InvalidArgument, NotFound
from keel.models import load_model, save_model
from keel.models.flavors import get_flavor
from models.support import (
    WritesOnUnpickle,
    read_manifest_dict,
    replace_file,
    write_manifest_dict,
)


class Doubler:
    def predict(self, data: Any) -> Any:
        return np.asarray(data) * 2


@pytest.fixture
def python_package(tmp_path: Path) -> Path:
    path = tmp_path / "packages" / "doubler"
    save_model(Doubler(), path, input_example=np.ones((2, 3)), source_run_id="0" * 32)
    return path


def assert_refused_for_pickle(caught: pytest.ExceptionInfo[Forbidden]) -> None:
    message = caught.value.message
    assert "unpickling runs any code" in message
    assert "trust=True" in message and "KEEL_TRUSTED_MODEL_SOURCES" in message


# trust ------------------------------------------------------------------------------------


def test_python_models_need_trust_and_nothing_is_unpickled_without_it(
    python_package: Path, tmp_path: Path, no_trusted_sources: Settings
) -> None:
    canary = tmp_path / "canary"
    replace_file(python_package, "model.pkl", pickle.dumps(WritesOnUnpickle(canary)))
    with pytest.raises(Forbidden) as caught:
        load_model(python_package, settings=no_trusted_sources)
    assert_refused_for_pickle(caught)
    assert not canary.exists()
    # The payload is live: a trusted load runs it (and then finds no model in it).
    with pytest.raises(InvalidArgument, match="predict method"):
        load_model(python_package, trust=True)
    assert canary.exists()


def test_the_flavor_itself_refuses_without_trust(python_package: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    replace_file(python_package, "model.pkl", pickle.dumps(WritesOnUnpickle(canary)))
    info = read_manifest_dict(python_package)["flavors"]["python"]
    with pytest.raises(Forbidden):
        get_flavor("python").load(python_package, info, trust=False)
    assert not canary.exists()


def test_pickled_sklearn_needs_trust(tmp_path: Path, no_trusted_sources: Settings) -> None:
    from sklearn.linear_model import LinearRegression

    path = tmp_path / "lr"
    save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), path, serialization="pickle")
    assert read_manifest_dict(path)["flavors"]["sklearn"]["file"] == "model.pkl"
    canary = tmp_path / "canary"
    replace_file(path, "model.pkl", pickle.dumps(WritesOnUnpickle(canary)))
    with pytest.raises(Forbidden) as caught:
        load_model(path, settings=no_trusted_sources)
    assert_refused_for_pickle(caught)
    assert not canary.exists()


def test_pickled_torch_module_needs_trust(tmp_path: Path, no_trusted_sources: Settings) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "net"
    save_model(torch.nn.Linear(2, 1), path, serialization="pickle")
    canary = tmp_path / "canary"
    buffer = io.BytesIO()
    torch.save(WritesOnUnpickle(canary), buffer)
    replace_file(path, "model.pth", buffer.getvalue())
    with pytest.raises(Forbidden) as caught:
        load_model(path, settings=no_trusted_sources)
    assert_refused_for_pickle(caught)
    assert not canary.exists()
    with contextlib.suppress(AttributeError):  # the payload is not a module
        load_model(path, trust=True)
    assert canary.exists()


def test_trusted_source_prefixes_come_from_settings(python_package: Path) -> None:
    # A models:/ source is a name, and a name is not trust: the registry's loader decides
    # by the version's approved digest (tests/registry/test_review_bypass.py).
    settings = Settings(home=Path(".keel"), trusted_model_sources=("models:/doubler",))
    with pytest.raises(Forbidden, match="'models:/doubler/3'"):
        load_model(python_package, source="models:/doubler/3", settings=settings)
    with pytest.raises(Forbidden, match="'models:/doubler-copy/1'"):
        load_model(python_package, source="models:/doubler-copy/1", settings=settings)
    folder = Settings(home=Path(".keel"), trusted_model_sources=(str(python_package.parent),))
    assert load_model(python_package, settings=folder).flavor == "python"


class WritesOnSetstate:
    """A transformer skops does not know: rebuilding it runs ``__setstate__``."""

    def __init__(self, canary: str = "") -> None:
        self.canary = canary

    def fit(self, x: Any, y: Any = None) -> WritesOnSetstate:
        return self

    def transform(self, x: Any) -> Any:
        return x

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"canary": self.canary}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["canary"]).write_text("rebuilt")
        self.__dict__.update(state)


def test_skops_types_off_the_allow_list_need_trust(
    tmp_path: Path, no_trusted_sources: Settings
) -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    canary = tmp_path / "canary"
    pipeline = Pipeline([("odd", WritesOnSetstate(str(canary))), ("lr", LinearRegression())])
    pipeline.fit(np.array([[0.0], [1.0]]), [0.0, 1.0])
    save_model(pipeline, tmp_path / "pipe")
    with pytest.raises(Forbidden, match="outside Keel's allow-list") as caught:
        load_model(tmp_path / "pipe", settings=no_trusted_sources)
    assert "WritesOnSetstate" in caught.value.message
    assert not canary.exists()
    loaded = load_model(tmp_path / "pipe", trust=True)
    assert canary.exists()
    assert loaded.predict(np.array([[2.0]])).tolist() == pytest.approx([2.0])


def test_a_pipeline_with_an_imputer_and_encoder_loads_without_trust(
    tmp_path: Path, no_trusted_sources: Settings
) -> None:
    # The scikit-learn gallery's ColumnTransformer pipeline: SimpleImputer keeps a numpy
    # dtype, which skops rebuilds from an empty array; no pickle, so no trust is needed.
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"age": [20.0, None, 40.0, 35.0], "sex": ["f", "m", "f", "m"]})
    columns = ColumnTransformer(
        [("num", SimpleImputer(), ["age"]), ("cat", OneHotEncoder(), ["sex"])]
    )
    pipeline = Pipeline([("pre", columns), ("lr", LogisticRegression())])
    pipeline.fit(frame, [0, 1, 0, 1])
    save_model(pipeline, tmp_path / "pipe", input_example=frame.head(2))
    loaded = load_model(tmp_path / "pipe", settings=no_trusted_sources)
    assert list(loaded.predict(frame)) == list(pipeline.predict(frame))


# integrity --------------------------------------------------------------------------------


def test_a_changed_file_is_refused_and_nothing_loaded(python_package: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    # The attacker changes the bytes but cannot re-sign the manifest (it is recorded).
    (python_package / "model.pkl").write_bytes(pickle.dumps(WritesOnUnpickle(canary)))
    with pytest.raises(CorruptData, match=r"model\.pkl"):
        load_model(python_package, trust=True)
    assert not canary.exists()


def test_same_size_tampering_is_caught_by_the_digest(python_package: Path) -> None:
    data = bytearray((python_package / "model.pkl").read_bytes())
    data[-2] ^= 0xFF
    (python_package / "model.pkl").write_bytes(bytes(data))
    with pytest.raises(CorruptData, match="BLAKE3"):
        load_model(python_package, trust=True)


@pytest.mark.parametrize("change", ["truncate", "remove", "plant", "link"])
def test_missing_planted_or_linked_files_are_refused(
    python_package: Path, tmp_path: Path, change: str
) -> None:
    model = python_package / "model.pkl"
    if change == "truncate":
        model.write_bytes(model.read_bytes()[:10])
    elif change == "remove":
        model.unlink()
    elif change == "plant":
        (python_package / "sitecustomize.py").write_text("import os")
    else:
        outside = tmp_path / "outside.pkl"
        outside.write_bytes(model.read_bytes())  # same bytes, so only the link is wrong
        model.unlink()
        model.symlink_to(outside)
    with pytest.raises(CorruptData):
        load_model(python_package, trust=True)


# what a manifest may name -----------------------------------------------------------------


CANARY_MODULE = "keel_canary_flavor"


@pytest.fixture
def canary_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module that leaves a file behind if anything imports it."""
    marker = tmp_path / "imported"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / f"{CANARY_MODULE}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
    )
    monkeypatch.syspath_prepend(str(modules))
    return marker


@pytest.mark.parametrize(
    ("flavor", "message"),
    [
        (CANARY_MODULE, "not a flavor Keel knows"),
        ("os", "not a flavor Keel knows"),
        (f"{CANARY_MODULE}.loader", "lowercase identifiers"),
        ("keel.models.flavors.python", "lowercase identifiers"),
    ],
)
def test_a_manifest_cannot_name_a_module(
    python_package: Path, canary_module: Path, flavor: str, message: str
) -> None:
    manifest = read_manifest_dict(python_package)
    manifest["flavors"] = {flavor: manifest["flavors"]["python"]}
    manifest["flavor"] = flavor
    write_manifest_dict(python_package, manifest)
    with pytest.raises(InvalidArgument, match=message):
        load_model(python_package, trust=True)
    assert CANARY_MODULE not in sys.modules
    assert not canary_module.exists()


@pytest.mark.parametrize("where", ["../outside.pkl", "/tmp/outside.pkl", "sub\\..\\x.pkl"])
def test_a_manifest_cannot_point_outside_the_package(
    python_package: Path, tmp_path: Path, where: str
) -> None:
    canary = tmp_path / "canary"
    (python_package.parent / "outside.pkl").write_bytes(pickle.dumps(WritesOnUnpickle(canary)))
    manifest = read_manifest_dict(python_package)
    manifest["flavors"]["python"]["file"] = where
    write_manifest_dict(python_package, manifest)
    with pytest.raises(InvalidArgument, match=r"flavors\['python'\]\.file"):
        load_model(python_package, trust=True)
    manifest["flavors"]["python"]["file"] = "model.pkl"
    manifest["files"][where] = manifest["files"]["model.pkl"]
    write_manifest_dict(python_package, manifest)
    with pytest.raises(InvalidArgument, match="files '"):
        load_model(python_package, trust=True)
    assert not canary.exists()


def test_a_missing_package_or_manifest_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_model(tmp_path / "nothing")
    with pytest.raises(NotFound, match=r"keel-model\.json"):
        load_model(tmp_path)


# saving -----------------------------------------------------------------------------------


class Unpicklable:
    def predict(self, data: Any) -> Any:
        return data

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("cannot be pickled")


def test_a_failed_save_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "models" / "broken"
    with pytest.raises(TypeError):
        save_model(Unpicklable(), target)
    assert os.listdir(tmp_path / "models") == []


def test_save_refuses_an_existing_path_and_unknown_flavors(
    python_package: Path, tmp_path: Path
) -> None:
    with pytest.raises(AlreadyExists):
        save_model(Doubler(), python_package)
    with pytest.raises(InvalidArgument, match="not a flavor Keel knows"):
        save_model(Doubler(), tmp_path / "x", flavor="pickle")
    with pytest.raises(InvalidArgument, match="no flavor recognises"):
        save_model(object(), tmp_path / "y")
    with pytest.raises(InvalidArgument, match="serialization"):
        save_model(Doubler(), tmp_path / "z", serialization="joblib")
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists()


def test_save_records_metadata_run_and_requirements(tmp_path: Path) -> None:
    manifest = save_model(
        Doubler(),
        tmp_path / "m",
        requirements=["numpy>=1.26", "mylib==0.3"],
        source_run_id="a" * 32,
        metadata={"owner": "risk-team", "threshold": 0.7},
    )
    assert manifest.requirements == ("numpy>=1.26", "mylib==0.3")
    loaded = load_model(tmp_path / "m", trust=True)
    assert loaded.manifest == manifest
    assert loaded.metadata == {"owner": "risk-team", "threshold": 0.7}
    assert loaded.manifest.source_run_id == "a" * 32
    assert loaded.signature is None
    with pytest.raises(InvalidArgument, match="requirements\\[0\\]"):
        save_model(Doubler(), tmp_path / "n", requirements=["-e git+https://evil"])
    with pytest.raises(InvalidArgument, match="not one string"):
        save_model(Doubler(), tmp_path / "n", requirements="numpy")
    assert not (tmp_path / "n").exists()


def test_predict_enforces_the_signature(python_package: Path) -> None:
    loaded = load_model(python_package, trust=True)
    with pytest.raises(InvalidArgument, match=r"expected shape \(any, 3\), got \(2, 2\)"):
        loaded.predict(np.ones((2, 2)))


def test_a_module_torchscript_cannot_compile_asks_for_an_example(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class TakesKeywords(torch.nn.Module):
        def forward(self, *inputs: Any, **options: Any) -> Any:
            return inputs[0]

    with pytest.raises(InvalidArgument, match="input_example="):
        save_model(TakesKeywords(), tmp_path / "net")
    assert os.listdir(tmp_path) == []

"""MLflow's ``MlflowClient`` registry calls on ``keel.Client``, by their MLflow names,
on every store: what a migrating script calls where Keel's own spelling is
``client.registry.<name>``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import keel
from conftest import unique
from keel.config import Settings
from keel.errors import InvalidArgument, NotFound
from keel.registry.mlflow_names import version_number
from registry.conftest import MakeSource


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator[keel.Client]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    with keel.Client(store_uri, settings=settings) as made:
        yield made


def test_the_registry_walk_through_by_mlflow_names(
    client: keel.Client, make_source: MakeSource
) -> None:
    name = unique("walk")
    created = client.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert (created.name, created.tags, created.description) == (name, {"team": "risk"}, "first")
    first, second = make_source(), make_source()
    v1 = client.create_model_version(name, first, run_id=first.split("/")[1], tags={"k": "v"})
    v2 = client.create_model_version(name, second, description="deeper")
    assert (v1.version, v1.tags, v2.version, v2.description) == (1, {"k": "v"}, 2, "deeper")

    client.update_registered_model(name, description="wind farm power")
    assert client.update_registered_model(name).description == "wind farm power"
    client.set_registered_model_tag(name, "task", "regression")
    client.update_model_version(name, "1", description="baseline")
    client.set_model_version_tag(name, "1", "validation_status", "approved")
    client.set_model_version_tag(name, 2, "validation_status", "pending")
    client.delete_model_version_tag(name, "1", "k")
    model = client.get_registered_model(name)
    assert (model.description, model.tags) == (
        "wind farm power",
        {"team": "risk", "task": "regression"},
    )
    assert client.get_model_version(name, "1").description == "baseline"
    assert client.get_model_version(name, "1").tags == {"validation_status": "approved"}
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"task": "regression"}

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == 1
    client.set_registered_model_alias(name, "champion", 2)
    assert client.get_model_version_by_alias(name, "champion").version == 2
    assert client.get_registered_model(name).aliases == {"champion": 2}
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(NotFound):
        client.get_model_version_by_alias(name, "champion")

    versions = client.search_model_versions(f"name='{name}'")
    assert [v.version for v in versions] == [2, 1] and versions.token is None
    assert [v.version for v in client.search_model_versions(f'name = "{name}"', 1)] == [2]
    assert [v.version for v in client.get_latest_versions(name)] == [2]

    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    assert list(client.search_registered_models(f"name = '{name}-nope'")) == []
    like = client.search_registered_models(f"name LIKE '{name[:-3]}%'")
    assert name in [m.name for m in like]

    client.delete_registered_model(name)
    with pytest.raises(NotFound):
        client.get_registered_model(name)


def test_bad_input_names_the_field_and_changes_nothing(
    client: keel.Client, make_source: MakeSource
) -> None:
    name = unique("bad")
    source = make_source()
    with pytest.raises(InvalidArgument, match=r"run_id .* belongs to run"):
        client.create_model_version(name, source, run_id="0" * 32)
    with pytest.raises(NotFound):
        client.get_registered_model(name)  # nothing was registered
    client.create_model_version(name, source)
    for bad in ("one", "0", "-1", True, 1.5):
        with pytest.raises(InvalidArgument, match="version: must be a positive integer"):
            client.set_model_version_tag(name, bad, "k", "v")  # type: ignore[arg-type]
    assert client.get_model_version(name, 1).tags == {}
    with pytest.raises(InvalidArgument, match=r"filter_string .* name = .<model name>."):
        client.search_model_versions(f"run_id = '{source.split('/')[1]}'")
    with pytest.raises(InvalidArgument, match="order_by"):
        client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    with pytest.raises(InvalidArgument, match="filter_string"):
        client.search_registered_models("tags.team = 'risk'")
    with pytest.raises(InvalidArgument, match=r"no model stages.*set_registered_model_alias"):
        client.transition_model_version_stage(name, "1", "Production")
    assert client.get_registered_model(name).aliases == {}


def test_version_number_takes_what_mlflow_takes() -> None:
    assert [version_number(v) for v in (1, "2", " 3 ")] == [1, 2, 3]

"""``keel.serving.predict_on_ray`` on a local Ray cluster started by the test: a folder of
Parquet files scored by actors that each load the model once, the output a folder that
appears whole; a bad row is reported as Keel's error and leaves no folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.errors import InvalidArgument
from serving.batch_support import FEATURES, Registered, registered, table

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")
np = pytest.importorskip("numpy")

__all__ = ["registered"]  # the fixture, used by name
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    # Ray Data warns (DeprecationWarning, ResourceWarning) from its own threads.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_folder_scored_by_actors_into_a_folder(
    local_ray: Any, registered: Registered, tmp_path: Path
) -> None:
    from keel.serving import predict_on_ray

    source = tmp_path / "in"
    source.mkdir()
    frames = [table(700, seed=i) for i in range(3)]
    for i, frame in enumerate(frames):
        frame.assign(id=frame["id"] + 10_000 * i).to_parquet(source / f"part-{i}.parquet")
    out = tmp_path / "out"

    result = predict_on_ray(
        registered.uri,
        source,
        out,
        keep=["id"],
        batch_rows=256,
        concurrency=2,
        tracking_uri=registered.store,
        settings=registered.settings,
    )

    assert (result.rows, result.model_name, result.model_version) == (2_100, "churn", 1)
    got = pq.read_table(out).to_pandas().sort_values("id")
    assert got.columns.tolist() == [
        "prediction_id",
        "model_name",
        "model_version",
        "id",
        "prediction",
        "score.no",
        "score.yes",
    ]
    import pandas as pd

    frame = pd.concat(
        [f.assign(id=f["id"] + 10_000 * i) for i, f in enumerate(frames)]
    ).sort_values("id")
    features = frame[list(FEATURES)]
    assert got["id"].tolist() == frame["id"].tolist()
    assert got["prediction"].tolist() == registered.estimator.predict(features).tolist()
    np.testing.assert_allclose(
        got[["score.no", "score.yes"]].to_numpy(),
        registered.estimator.predict_proba(features),
        rtol=1e-5,
    )
    assert got["prediction_id"].is_unique
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no staging left

    # A file whose column holds strings where the others hold numbers: named, no output.
    bad = table(50, seed=9)
    bad["b"] = bad["b"].astype(str)
    bad.to_parquet(source / "part-9.parquet")
    with pytest.raises(InvalidArgument, match="column 'b': its files disagree on its type"):
        predict_on_ray(
            registered.uri,
            source,
            tmp_path / "out2",
            keep=["id"],
            tracking_uri=registered.store,
            settings=registered.settings,
        )
    # Strings throughout: the actor's signature check, reported as Keel's error.
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (source / "part-9.parquet").rename(only_bad / "part-9.parquet")
    with pytest.raises(InvalidArgument, match=r"column 'b'.*float64"):
        predict_on_ray(
            registered.uri,
            only_bad,
            tmp_path / "out2",
            keep=["id"],
            tracking_uri=registered.store,
            settings=registered.settings,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "in", "out"]


def test_keel_predict_on_ray(
    local_ray: Any, registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from keel.cli.main import app

    monkeypatch.setenv("KEEL_HOME", str(registered.settings.home))
    monkeypatch.setenv("KEEL_TRACKING_URI", registered.store)
    source = tmp_path / "in.csv"
    table(300).to_csv(source, index=False)

    result = CliRunner().invoke(
        app,
        ["predict", registered.uri, "--on", "ray", "-i", str(source), "-o",
         str(tmp_path / "out"), "--keep", "id", "--concurrency", "1", "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 300
    assert pq.read_table(tmp_path / "out").num_rows == 300

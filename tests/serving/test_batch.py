"""``keel.serving.predict_file``: a registered classifier scores Parquet and CSV files in
chunks, the output holds ids, the version, kept columns and class scores, and a bad row
leaves no output behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from keel.errors import AlreadyExists, Forbidden, InvalidArgument, NotFound
from keel.serving.batch import predict_file
from serving.batch_support import FEATURES, Registered, registered, table

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

__all__ = ["registered"]  # the fixture, used by name


class Counted:
    """A RowProgress that remembers what it was told."""

    def __init__(self) -> None:
        self.total: int | None = -1
        self.advances: list[int] = []

    def start(self, total_rows: int | None, what: str) -> None:
        self.total = total_rows

    def advance(self, rows: int) -> None:
        self.advances.append(rows)


def score(registered: Registered, source: Path, out: Path, **options: Any) -> Any:
    return predict_file(
        registered.uri,
        source,
        out,
        tracking_uri=registered.store,
        settings=registered.settings,
        **options,
    )


def expected(registered: Registered, frame: Any) -> tuple[Any, Any]:
    model = registered.estimator
    features = frame[list(FEATURES)]
    return model.predict(features), model.predict_proba(features)


def test_parquet_in_chunks_with_ids_version_kept_column_and_scores(
    registered: Registered, tmp_path: Path
) -> None:
    frame = table(1_000)
    source = tmp_path / "in.parquet"
    frame.to_parquet(source, row_group_size=128)
    progress = Counted()

    result = score(
        registered, source, tmp_path / "out.parquet", keep=["id"], chunk_rows=300, progress=progress
    )

    assert (result.rows, result.model_name, result.model_version) == (1_000, "churn", 1)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == [
        "prediction_id",
        "model_name",
        "model_version",
        "id",
        "prediction",
        "score.no",
        "score.yes",
    ]
    assert out.schema.field("model_version").type == pa.int32()
    got = out.to_pandas()
    labels, proba = expected(registered, frame)
    assert got["id"].tolist() == frame["id"].tolist()  # in the input's order
    assert got["prediction"].tolist() == labels.tolist()
    np.testing.assert_allclose(got[["score.no", "score.yes"]].to_numpy(), proba, rtol=1e-5)
    ids = got["prediction_id"]
    assert ids.str.fullmatch(r"[0-9a-f]{32}").all() and ids.is_unique
    assert set(got["model_name"]) == {"churn"} and set(got["model_version"]) == {1}
    assert (progress.total, progress.advances) == (1_000, [300, 300, 300, 100])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out.parquet"]


def test_csv_to_csv_and_csv_to_parquet(registered: Registered, tmp_path: Path) -> None:
    frame = table(250)
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    progress = Counted()

    score(registered, source, tmp_path / "out.csv", keep=["id"], chunk_rows=100, progress=progress)
    frame.drop(columns=["id"]).to_csv(source, index=False)
    score(registered, source, tmp_path / "out.data", output_format="parquet", chunk_rows=64)

    as_csv = pd.read_csv(tmp_path / "out.csv")
    labels, _ = expected(registered, frame)
    assert as_csv["prediction"].tolist() == labels.tolist()
    assert as_csv["id"].tolist() == frame["id"].tolist()
    assert progress.total is None and progress.advances == [100, 100, 50]  # not counted ahead
    as_parquet = pq.read_table(tmp_path / "out.data").to_pandas()
    assert as_parquet["prediction"].tolist() == labels.tolist()
    assert "id" not in as_parquet.columns  # kept only when asked


def test_a_bad_value_names_the_column_and_rule_and_leaves_no_output(
    registered: Registered, tmp_path: Path
) -> None:
    frame = table(300).astype({"b": "object"})
    frame.loc[250, "b"] = "oops"
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.parquet"

    with pytest.raises(InvalidArgument) as raised:
        score(registered, source, out, keep=["id"], chunk_rows=100)

    message = raised.value.message
    assert "column 'b'" in message and "float64" in message and "oops" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no output, no partial


def test_a_wrongly_typed_parquet_column_names_its_rows_and_rule(
    registered: Registered, tmp_path: Path
) -> None:
    frame = table(120)
    frame["c"] = frame["c"].astype(str)
    source = tmp_path / "in.parquet"
    frame.to_parquet(source)

    with pytest.raises(InvalidArgument) as raised:
        score(registered, source, tmp_path / "out.parquet", keep=["id"], chunk_rows=50)

    message = raised.value.message
    assert "rows 1 to 50" in message and "column 'c'" in message
    assert not (tmp_path / "out.parquet").exists()


def test_a_column_the_model_does_not_take_is_refused_unless_kept(
    registered: Registered, tmp_path: Path
) -> None:
    source = tmp_path / "in.parquet"
    table(10).to_parquet(source)

    with pytest.raises(InvalidArgument, match="column 'id' not in the model's signature; keep"):
        score(registered, source, tmp_path / "out.parquet")
    with pytest.raises(InvalidArgument, match=r"keep: input .* has no column 'account'"):
        score(registered, source, tmp_path / "out.parquet", keep=["account"])
    with pytest.raises(InvalidArgument, match="'prediction' is an output column"):
        score(registered, source, tmp_path / "out.parquet", keep=["prediction"])


def test_existing_output_is_kept_unless_overwrite(registered: Registered, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table(20).to_parquet(source)
    out = tmp_path / "out.parquet"
    out.write_text("precious")

    with pytest.raises(AlreadyExists):
        score(registered, source, out, keep=["id"])
    assert out.read_text() == "precious"
    score(registered, source, out, keep=["id"], overwrite=True)
    assert pq.read_table(out).num_rows == 20


def test_empty_input_gives_an_empty_output(registered: Registered, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table(0).to_parquet(source)

    result = score(registered, source, tmp_path / "out.parquet", keep=["id"])

    assert result.rows == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == 0 and out.column_names[:4] == [
        "prediction_id",
        "model_name",
        "model_version",
        "id",
    ]


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"chunk_rows": 0}, InvalidArgument, "chunk_rows: must be between 1"),
        ({"output_format": "xlsx"}, InvalidArgument, "output format: must be one of parquet, csv"),
    ],
)
def test_bad_options_are_refused_before_reading(
    registered: Registered, tmp_path: Path, options: dict[str, Any], error: type, pattern: str
) -> None:
    source = tmp_path / "in.parquet"
    table(5).to_parquet(source)
    with pytest.raises(error, match=pattern):
        score(registered, source, tmp_path / "out.parquet", **options)


def test_unknown_suffix_missing_input_and_unknown_model(
    registered: Registered, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgument, match="cannot tell its format"):
        score(registered, tmp_path / "in.txt", tmp_path / "out.parquet")
    with pytest.raises(NotFound, match="no such file"):
        score(registered, tmp_path / "absent.parquet", tmp_path / "out.parquet")
    with pytest.raises(NotFound):
        predict_file(
            "models:/nope@champion",
            tmp_path / "absent.parquet",
            tmp_path / "out.parquet",
            tracking_uri=registered.store,
            settings=registered.settings,
        )


def test_chunks_bound_what_is_read_at_once(registered: Registered, tmp_path: Path) -> None:
    """A file is read a chunk at a time: the largest chunk scored is chunk_rows rows,
    however large the file (here 20,000 rows in 1,000-row chunks)."""
    from keel.serving import chunk_scoring as scoring

    frame = table(20_000)
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    seen: list[int] = []
    original = scoring.ChunkScorer.score

    def spy(self: Any, chunk: Any) -> Any:
        seen.append(chunk.num_rows)
        return original(self, chunk)

    scoring.ChunkScorer.score = spy  # type: ignore[method-assign]
    try:
        score(registered, source, tmp_path / "out.parquet", keep=["id"], chunk_rows=1_000)
    finally:
        scoring.ChunkScorer.score = original  # type: ignore[method-assign]
    assert seen == [1_000] * 20
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == 20_000


def test_an_untrusted_pickle_is_refused(tmp_path: Path) -> None:
    """The trust rules of keel.registry.loading hold: a pickled model registered by
    anyone does not load for a batch job without trust."""
    from keel.client import Client
    from keel.config import Settings
    from serving.batch_support import train

    settings = Settings(home=tmp_path / "home", flush_interval=0.2)
    store = str(tmp_path / "store")
    estimator, frame = train(rows=50)
    with Client(store, settings=settings) as client:
        run_id = client.create_run(client.create_experiment("p")).run_id
        logged = client.log_model(
            run_id, estimator, input_example=frame.head(), serialization="pickle", onnx=False
        )
        client.registry.register_model(logged.uri, "pickled")
        client.set_terminated(run_id)
    source = tmp_path / "in.parquet"
    table(5).drop(columns=["id"]).to_parquet(source)

    with pytest.raises(Forbidden):
        predict_file(
            "models:/pickled/1",
            source,
            tmp_path / "out.parquet",
            tracking_uri=store,
            settings=settings,
        )
    result = predict_file(
        "models:/pickled/1",
        source,
        tmp_path / "out.parquet",
        tracking_uri=store,
        settings=settings,
        trust=True,
    )
    assert result.rows == 5


def test_the_model_copy_is_removed_when_the_job_ends(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = tmp_path / "in.parquet"
    table(10).to_parquet(source)

    score(registered, source, tmp_path / "out.parquet", keep=["id"])

    assert list(scratch.iterdir()) == []


def test_a_list_per_row_cannot_go_to_csv(tmp_path: Path) -> None:
    from keel.serving.batch_files import OutputFile
    from keel.serving.chunk_scoring import prediction_columns

    columns = prediction_columns(np.arange(6.0).reshape(3, 2), 3)
    assert pa.table(columns).column("prediction").to_pylist() == [[0, 1], [2, 3], [4, 5]]
    output = OutputFile(tmp_path / "out.csv", "csv")
    with pytest.raises(InvalidArgument, match="'prediction' holds several values a row"):
        output.write(pa.table(columns))
    output.discard()
    assert list(tmp_path.iterdir()) == []


MEASURE = """
import sys
import pyarrow as pa
from keel.config import Settings
from keel.serving.batch import predict_file

store, home, source, out = sys.argv[1:5]
predict_file("models:/churn/1", source, out, keep=["id"], chunk_rows=10_000,
             tracking_uri=store, settings=Settings(home=__import__("pathlib").Path(home)))
print(pa.default_memory_pool().max_memory())
"""


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_memory_holds_a_chunk_not_the_file(
    registered: Registered, tmp_path: Path, suffix: str
) -> None:
    """Arrow's peak allocation while scoring a 1,500,000-row file (48 MB in memory) in
    10,000-row chunks stays a fraction of the file: it is streamed, not loaded."""
    import os
    import subprocess
    import sys

    rows = 1_500_000
    rng = np.random.default_rng(0)
    data = pa.table({"id": np.arange(rows), **{k: rng.normal(size=rows) for k in FEATURES}})
    source = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        pq.write_table(data, source, row_group_size=100_000)
    else:
        import pyarrow.csv as csv

        csv.write_csv(data, source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, registered.store, str(registered.settings.home),
         str(source), str(tmp_path / "out.parquet")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    peak = int(done.stdout.split()[-1])
    assert peak < data.nbytes / 2, f"peak {peak / 1e6:.1f} MB for {data.nbytes / 1e6:.1f} MB"
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == rows

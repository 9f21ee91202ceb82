"""The prediction log's writer on a real artifact folder: nothing lost below capacity,
drops counted above it, ``record`` never blocking, files per deployment and hour holding
the log's columns, sampling, ``close`` flushing, and the spool."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from keel.artifacts.prediction_files import StoredPredictionFiles
from keel.errors import InvalidArgument
from keel.predictions.reader import find_prediction, read_predictions
from keel.predictions.writer import PredictionLog
from predictions.support import HOUR, T0, GatedFiles, batch


def files_at(tmp_path: Path) -> StoredPredictionFiles:
    return StoredPredictionFiles.at(str(tmp_path / "artifacts"))


def parquet_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "artifacts").rglob("*.parquet"))


def test_concurrent_records_below_capacity_are_all_written(tmp_path: Path) -> None:
    files = files_at(tmp_path)
    log = PredictionLog(files, spool=tmp_path / "spool", queue_rows=50_000, flush_seconds=0.1)
    sent: list[str] = []
    lock = threading.Lock()

    def serve(worker: int) -> None:
        for i in range(150):
            b = batch(1 + (worker + i) % 7, time_ms=T0 + worker * 1000 + i)
            log.record(b)
            with lock:
                sent.extend(b.ids)

    threads = [threading.Thread(target=serve, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close(30)
    assert log.dropped_rows == 0
    assert log.written_rows == len(sent)
    written = read_predictions(files, "fraud-api").collect()
    assert written.height == len(sent)
    assert sorted(written["prediction_id"]) == sorted(sent)
    assert written["time"].is_sorted()


def test_a_full_queue_drops_batches_counts_them_and_record_never_blocks(tmp_path: Path) -> None:
    gated = GatedFiles(files_at(tmp_path))
    gated.open.clear()  # the store hangs: the writer thread waits in put
    log = PredictionLog(
        gated, spool=tmp_path / "spool", queue_rows=100, flush_rows=10, flush_seconds=0.05
    )
    batches = [batch(5, time_ms=T0 + i) for i in range(400)]
    slowest = 0.0
    began = time.perf_counter()
    for b in batches:
        started = time.perf_counter()
        log.record(b)
        slowest = max(slowest, time.perf_counter() - started)
    total = time.perf_counter() - began
    # At most what the thread took before hanging plus one queue's worth got in.
    assert log.dropped_rows >= 2000 - 100 - 100
    assert log.dropped_rows % 5 == 0
    # The store stays hung for the whole loop: a record that waited on it would take 30 s.
    assert slowest < 0.25, f"record took {slowest * 1000:.1f} ms with the store hung"
    assert total < 1.0, f"400 records took {total * 1000:.0f} ms with the store hung"
    gated.open.set()
    log.close(30)
    kept = read_predictions(gated.inner, "fraud-api").collect().height
    assert kept == log.written_rows == 2000 - log.dropped_rows


def test_files_are_partitioned_by_deployment_and_hour_with_the_log_columns(
    tmp_path: Path,
) -> None:
    files = files_at(tmp_path)
    log = PredictionLog(files, spool=tmp_path / "spool", flush_seconds=30)
    first, later, other = batch(4), batch(3, time_ms=T0 + HOUR + 5), batch(2, deployment="churn")
    for b in (first, later, other):
        log.record(b)
    log.close(30)
    found = [p.relative_to(tmp_path / "artifacts").as_posix() for p in parquet_files(tmp_path)]
    assert [p.rsplit("/", 1)[0] for p in found] == [
        "predictions/churn/date=2025-12-06/hour=05",
        "predictions/fraud-api/date=2025-12-06/hour=05",
        "predictions/fraud-api/date=2025-12-06/hour=06",
    ]
    for path in found:
        assert path.rsplit("/", 1)[1].startswith(f"{log.writer_id}-")
    table = pq.read_table(tmp_path / "artifacts" / found[1])
    types = {f.name: str(f.type) for f in table.schema}
    assert types == {
        "prediction_id": "string",
        "time": "timestamp[ms, tz=UTC]",
        "deployment": "string",
        "model_name": "string",
        "model_version": "int32",
        "shadow": "bool",
        "latency_ms": "float",
        "input.amount": "double",
        "input.country": "string",
        "input.count": "int64",
        "prediction": "int64",
        "score.0": "double",
        "score.1": "double",
    }
    assert table.column("prediction_id").to_pylist() == list(first.ids)
    assert table.column("input.amount").to_pylist() == list(first.inputs["amount"])
    assert table.column("score.1").to_pylist() == list(np.asarray(first.scores)[:, 1])
    # Reading a window reads the hours it covers.
    window = read_predictions(files, "fraud-api", T0 + HOUR, T0 + 2 * HOUR).collect()
    assert list(window["prediction_id"]) == list(later.ids)
    row = find_prediction(files, later.ids[1])
    assert row is not None and row["time"] == T0 + HOUR + 5 and row["model_version"] == 3
    assert find_prediction(files, "0" * 32) is None


def test_versions_with_different_columns_share_a_file_with_nulls(tmp_path: Path) -> None:
    files = files_at(tmp_path)
    log = PredictionLog(files, spool=tmp_path / "spool", flush_seconds=30)
    log.record(batch(2, version=1, scores=False))
    log.record(batch(3, version=2, shadow=True))
    log.close(30)
    assert len(parquet_files(tmp_path)) == 1
    rows = read_predictions(files, "fraud-api").collect()
    assert rows.height == 5
    assert rows.filter(rows["model_version"] == 1)["score.1"].null_count() == 2
    assert read_predictions(files, "fraud-api", model_version=2).collect()["shadow"].all()


def test_sampling_rate_per_deployment_is_applied_before_queueing(tmp_path: Path) -> None:
    files = files_at(tmp_path)
    log = PredictionLog(
        files, spool=tmp_path / "spool", sampling={"fraud-api": 0.25}, flush_seconds=30
    )
    log.set_sampling("silent", 0.0)
    for i in range(200):
        log.record(batch(50, time_ms=T0 + i))
        log.record(batch(1, deployment="churn", time_ms=T0 + i))
        log.record(batch(5, deployment="silent", time_ms=T0 + i))
    assert log.queued_rows < 200 * 50 * 0.35 + 200  # sampled out before the queue
    log.close(30)
    kept = read_predictions(files, "fraud-api").collect().height
    assert 0.2 * 10_000 < kept < 0.3 * 10_000
    assert read_predictions(files, "churn").collect().height == 200  # its rate is 1
    assert read_predictions(files, "silent").collect().height == 0
    assert log.sampled_out_rows == 10_000 - kept + 1000
    with pytest.raises(InvalidArgument, match="from 0 to 1"):
        log.set_sampling("fraud-api", 1.5)


def test_close_writes_what_is_queued_at_once(tmp_path: Path) -> None:
    files = files_at(tmp_path)
    log = PredictionLog(files, spool=tmp_path / "spool", flush_seconds=3600)
    b = batch(3)
    log.record(b)
    started = time.monotonic()
    log.close(30)
    assert time.monotonic() - started < 10
    assert list(read_predictions(files, "fraud-api").collect()["prediction_id"]) == list(b.ids)
    log.record(batch(2))  # after close: refused and counted, never raised
    assert log.dropped_rows == 2


def test_an_unreachable_store_spools_then_delivers_in_order(tmp_path: Path) -> None:
    files = GatedFiles(files_at(tmp_path))
    files.down = True
    log = PredictionLog(files, spool=tmp_path / "spool", flush_seconds=30, retry_seconds=0.05)
    batches = [batch(2, time_ms=T0 + i * 10) for i in range(3)]
    for b in batches:
        log.record(b)
        assert log.flush(30)
    assert log.spooled_files == 3
    assert len(list((tmp_path / "spool").glob("*.parquet"))) == 3
    files.down = False  # the store is back
    assert log.flush(30)
    assert list((tmp_path / "spool").glob("*.parquet")) == []
    log.close(30)
    rows = read_predictions(files, "fraud-api").collect()
    assert list(rows["prediction_id"]) == [i for b in batches for i in b.ids]
    names = [p.name for p in parquet_files(tmp_path)]
    assert names == sorted(names) and len(names) == 3  # delivered under their own names


def test_a_new_writer_sends_what_an_earlier_one_left_in_the_spool(tmp_path: Path) -> None:
    down = GatedFiles(files_at(tmp_path))
    down.down = True
    first = PredictionLog(down, spool=tmp_path / "spool", flush_seconds=30)
    left = batch(4)
    first.record(left)
    first.close(10)  # the process ends with its file spooled
    assert first.spooled_files == 1
    files = files_at(tmp_path)
    second = PredictionLog(files, spool=tmp_path / "spool", flush_seconds=30)
    assert second.flush(30)  # nothing queued: it sends the spool
    later = batch(2, time_ms=T0 + 5000)
    second.record(later)
    second.close(30)
    rows = read_predictions(files, "fraud-api").collect()
    assert list(rows["prediction_id"]) == [*left.ids, *later.ids]


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="queue_rows"):
        PredictionLog(files_at(tmp_path), spool=tmp_path, queue_rows=0)
    with pytest.raises(InvalidArgument, match="sampling rate of fraud-api"):
        PredictionLog(files_at(tmp_path), spool=tmp_path, sampling={"fraud-api": -1})


def test_a_file_the_store_refuses_for_good_is_set_aside_not_retried(tmp_path: Path) -> None:
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "predictions").write_text("a file where a folder must be")
    log = PredictionLog(files_at(tmp_path), spool=tmp_path / "spool", flush_seconds=30)
    log.record(batch(2))
    assert log.flush(30)
    assert len(list((tmp_path / "spool" / "rejected").glob("*.parquet"))) == 1
    assert list((tmp_path / "spool").glob("*.parquet")) == []  # not blocking what follows
    log.close(10)


def test_inputs_read_as_one_matrix_are_written_as_the_same_columns() -> None:
    from dataclasses import replace

    from keel.predictions.records import MatrixColumns
    from keel.predictions.tables import prediction_tables

    names = ["a", "b", "c"]
    batches = [batch(rows) for rows in (1, 3, 2)]
    matrices = [np.arange(rows * 3, dtype=np.float64).reshape(rows, 3) + 10 * i
                for i, rows in enumerate((1, 3, 2))]  # fmt: skip
    as_columns = [
        replace(b, inputs=dict(zip(names, m.T, strict=True)), latency_ms=0.5 + i)
        for i, (b, m) in enumerate(zip(batches, matrices, strict=True))
    ]
    as_matrix = [
        replace(b, inputs=MatrixColumns(names, m), latency_ms=0.5 + i)
        for i, (b, m) in enumerate(zip(batches, matrices, strict=True))
    ]
    assert as_matrix[1].inputs["b"].tolist() == [11.0, 14.0, 17.0]
    assert list(as_matrix[1].inputs) == names and len(as_matrix[1].inputs) == 3
    with pytest.raises(KeyError):
        as_matrix[1].inputs["z"]
    (expected,) = prediction_tables(as_columns)
    (written,) = prediction_tables(as_matrix)
    assert written.equals(expected)
    assert written.column("input.a").to_pylist() == [0.0, 10.0, 13.0, 16.0, 20.0, 23.0]
    assert written.column("latency_ms").to_pylist() == [0.5, 1.5, 1.5, 1.5, 2.5, 2.5]
    # One batch given column by column: the others' matrices are read column by column.
    (mixed,) = prediction_tables([as_columns[0], *as_matrix[1:]])
    assert mixed.equals(expected)

"""The prediction log through a real ``keel server``: files written and read back, the
server's checks on what it stores (a Parquet file of the log's columns, placed by the
server; no path from the client), an outage spooled and delivered, and permissions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from access.conftest import AuthServer, create_user, keel
from conftest import ServerProcess
from keel.config import Settings
from keel.predictions.feedback import open_feedback_log
from keel.predictions.reader import find_prediction, read_feedback, read_predictions, with_feedback
from keel.predictions.tables import parquet_bytes, prediction_tables
from keel.predictions.writer import open_prediction_log
from keel.store import open_backend
from predictions.support import HOUR, T0, batch

NAME = "0123456789ab-000001"
PARQUET = {"Content-Type": "application/vnd.apache.parquet"}


def settings(tmp_path: Path, token: str | None = None) -> Settings:
    return Settings(home=tmp_path / "home", spool_dir=tmp_path / "spool", tracking_token=token)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("predsrv")
    proc = ServerProcess(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def stored(srv: ServerProcess) -> list[str]:
    return sorted(p.relative_to(srv.artifacts).as_posix() for p in srv.artifacts.rglob("*.parquet"))


def test_predictions_and_feedback_go_through_the_server_and_read_back(
    srv: ServerProcess, tmp_path: Path
) -> None:
    conf = settings(tmp_path)
    with open_backend(srv.url, conf) as backend:
        log = open_prediction_log(backend, conf, flush_seconds=0.1)
        first, later = batch(5, deployment="srv-a"), batch(3, deployment="srv-a", time_ms=T0 + HOUR)
        log.record(first)
        log.record(later)
        log.close(30)
        assert log.spooled_files == 0 and log.written_rows == 8
        files = backend.prediction_files
        rows = read_predictions(files, "srv-a").collect()
        assert list(rows["prediction_id"]) == [*first.ids, *later.ids]
        assert rows["model_version"].to_list() == [3] * 8
        window = read_predictions(files, "srv-a", T0 + HOUR, T0 + 2 * HOUR).collect()
        assert list(window["prediction_id"]) == list(later.ids)
        found = find_prediction(files, first.ids[2])
        assert found is not None and found["deployment"] == "srv-a"
        assert found["input.country"] == first.inputs["country"][2]

        feedback = open_feedback_log(backend, conf, flush_seconds=0.1)
        feedback.log_feedback("srv-a", [first.ids[0], first.ids[1]], [1, 1], time_ms=T0 + 2 * HOUR)
        feedback.log_feedback("srv-a", [first.ids[0]], [0], time_ms=T0 + 3 * HOUR)  # corrected
        feedback.close(30)
        labels = read_feedback(files, "srv-a").collect()
        assert labels.height == 3
        joined = with_feedback(read_predictions(files, "srv-a"), read_feedback(files, "srv-a"))
        by_id = dict(zip(*joined.select("prediction_id", "label").collect(), strict=True))
        assert by_id[first.ids[0]] == 0.0 and by_id[first.ids[1]] == 1.0
        assert by_id[later.ids[0]] is None
    placed = [p for p in stored(srv) if "/srv-a/" in p]
    assert placed[0].startswith("feedback/srv-a/date=2025-12-06/hour=07/")
    assert "predictions/srv-a/date=2025-12-06/hour=05/" in "\n".join(placed)


def test_rows_come_in_pages(srv: ServerProcess, tmp_path: Path) -> None:
    conf = settings(tmp_path)
    with open_backend(srv.url, conf) as backend:
        log = open_prediction_log(backend, conf)
        b = batch(5, deployment="paged")
        log.record(b)
        log.close(30)
    with httpx.Client(base_url=srv.url) as api:
        import polars as pl

        page = api.get("/api/v1/predictions/deployments/paged/rows", params={"limit": 2})
        assert page.status_code == 200
        assert page.headers["x-keel-next-offset"] == "2"
        assert pl.read_ipc_stream(page.content)["prediction_id"].to_list() == list(b.ids[:2])
        last = api.get(
            "/api/v1/predictions/deployments/paged/rows", params={"limit": 2, "offset": 4}
        )
        assert "x-keel-next-offset" not in last.headers
        assert pl.read_ipc_stream(last.content)["prediction_id"].to_list() == [b.ids[4]]


def good_file(deployment: str = "fraud-api") -> bytes:
    return parquet_bytes(prediction_tables([batch(3, deployment=deployment)])[0])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/v1/predictions/deployments/%2E%2E/files/{NAME}", 400),
        # Decoded, these are not one segment: no route, and no upload (a JSON-only path).
        (f"/api/v1/predictions/deployments/..%2F..%2Fetc/files/{NAME}", 415),
        (f"/api/v1/predictions/deployments/Fraud_API/files/{NAME}", 400),
        ("/api/v1/predictions/deployments/fraud-api/files/..%2F..%2Fescape", 415),
        ("/api/v1/predictions/deployments/fraud-api/files/%2E%2E", 400),
        ("/api/v1/predictions/deployments/fraud-api/files/escape.parquet", 400),
        ("/api/v1/predictions/deployments/fraud-api/feedback/0123456789ab-1", 400),
    ],
)
def test_paths_from_the_client_are_refused(srv: ServerProcess, path: str, status: int) -> None:
    before = stored(srv)
    answer = httpx.put(f"{srv.url}{path}", content=good_file(), headers=PARQUET)
    assert answer.status_code == status, answer.text
    assert stored(srv) == before


def test_the_server_stores_only_log_files_of_the_deployment_it_is_sent_to(
    srv: ServerProcess,
) -> None:
    import pyarrow as pa

    url = f"{srv.url}/api/v1/predictions/deployments/checked/files/{NAME}"
    before = stored(srv)
    cases = {
        b"not parquet at all": "not a readable Parquet file",
        good_file("someone-else"): "every row must name 'checked'",
        parquet_bytes(pa.table({"x": [1]})): "needs the columns",
        good_file("checked")[:-40]: "not a readable Parquet file",
    }
    feedback_as_predictions = parquet_bytes(
        pa.table({"prediction_id": ["0" * 32], "time": pa.array([T0], pa.timestamp("ms"))})
    )
    cases[feedback_as_predictions] = "needs the columns"
    for body, message in cases.items():
        answer = httpx.put(url, content=body)
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["error"]["message"]
    assert stored(srv) == before
    two_hours = pa.concat_tables(
        prediction_tables([batch(1, deployment="checked")])
        + prediction_tables([batch(1, deployment="checked", time_ms=T0 + HOUR)])
    )
    answer = httpx.put(url, content=parquet_bytes(two_hours))
    assert answer.status_code == 400 and "same UTC hour" in answer.text
    ok = httpx.put(url, content=good_file("checked"))
    assert ok.status_code == 201, ok.text
    assert ok.json() == {
        "path": f"predictions/checked/date=2025-12-06/hour=05/{NAME}.parquet",
        "rows": 3,
    }
    assert f"predictions/checked/date=2025-12-06/hour=05/{NAME}.parquet" in stored(srv)
    bad_kind = httpx.get(
        f"{srv.url}/api/v1/predictions/deployments/checked/rows", params={"kind": "../x"}
    )
    assert bad_kind.status_code == 400


def test_an_outage_spools_and_the_server_gets_every_file_in_order_when_back(
    tmp_path: Path,
) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    own = ServerProcess(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "log")
    own.start()
    conf = settings(tmp_path)
    try:
        with open_backend(own.url, conf) as backend:
            log = open_prediction_log(backend, conf, flush_seconds=30, retry_seconds=0.1)
            batches = [batch(2, deployment="outage", time_ms=T0 + i) for i in range(4)]
            log.record(batches[0])
            assert log.flush(30) and log.spooled_files == 0
            own.stop()  # the store goes away while serving
            for b in batches[1:]:
                log.record(b)
                assert log.flush(30)
            assert log.spooled_files == 3
            assert len(list((tmp_path / "spool" / "predictions").glob("*.parquet"))) == 3
            own.start()
            assert log.flush(30)
            log.close(30)
            assert list((tmp_path / "spool" / "predictions").glob("*.parquet")) == []
            rows = read_predictions(backend.prediction_files, "outage").collect()
            assert list(rows["prediction_id"]) == [i for b in batches for i in b.ids]
    finally:
        own.stop()


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AuthServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("predauth")
    server = AuthServer(root, env={"KEEL_RATE_LIMIT": "none"})
    tokens = {
        "root": create_user(server.backend, "root", "--admin"),
        "reader": create_user(server.backend, "reader"),
        "stranger": create_user(server.backend, "stranger"),
    }
    keel("projects", "grant", "default", "reader", "reader", "-t", server.backend)
    server.start()
    try:
        yield server, tokens
    finally:
        server.stop()


def test_with_users_a_reader_may_log_and_read_others_may_not(
    secured: tuple[AuthServer, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = secured
    reader = settings(tmp_path / "r", tokens["reader"])
    with open_backend(server.url, reader) as backend:
        log = open_prediction_log(backend, reader)
        b = batch(3, deployment="secured")
        log.record(b)
        log.close(30)
        assert log.spooled_files == 0
        rows = read_predictions(backend.prediction_files, "secured").collect()
        assert list(rows["prediction_id"]) == list(b.ids)

    url = f"{server.url}/api/v1/predictions/deployments/secured/files/{NAME}"
    assert httpx.put(url, content=good_file("secured")).status_code == 401
    rows_url = f"{server.url}/api/v1/predictions/deployments/secured/rows"
    assert httpx.get(rows_url).status_code == 401
    stranger = {"Authorization": f"Bearer {tokens['stranger']}"}
    assert httpx.put(url, content=good_file("secured"), headers=stranger).status_code == 403
    assert httpx.get(rows_url, headers=stranger).status_code == 403
    assert (
        httpx.get(f"{server.url}/api/v1/predictions/{b.ids[0]}", headers=stranger).status_code
        == 403
    )

    # A writer whose token may not write keeps its file aside, not retrying it forever.
    refused = settings(tmp_path / "s", tokens["stranger"])
    with open_backend(server.url, refused) as backend:
        log = open_prediction_log(backend, refused)
        log.record(batch(2, deployment="secured"))
        log.close(30)
    assert len(list((tmp_path / "s" / "spool" / "predictions" / "rejected").glob("*"))) == 1

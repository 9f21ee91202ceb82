"""A real ``keel serve models:/iris@champion`` on a loopback port: every route and
protocol end to end, errors in each protocol's shape, batching seen in the metrics."""

from __future__ import annotations

import concurrent.futures
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from keel.serving.predict import MAX_HEADER_IDS
from serving.support import ROW, ServeProcess, metric, predict

IDS_HEADER = "x-keel-prediction-ids"


@pytest.fixture(scope="module")
def server(
    model_store: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with ServeProcess(
        "models:/iris@champion", log, model_store, "--max-body-bytes", "100000"
    ) as proc:
        yield proc
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_predict_records_and_columns(server: ServeProcess) -> None:
    r = predict(server.url, [ROW, {**ROW, "f0": -3.0, "f1": -3.0}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == [1, 0]
    assert body["model"] == {"name": "iris", "version": 1}
    assert len(body["ids"]) == 2 and len(set(body["ids"])) == 2
    assert body["classes"] == [0, 1] and len(body["scores"][0]) == 2
    columns = {k: [v] for k, v in ROW.items()}
    r = httpx.post(f"{server.url}/predict", json={"columns": columns})
    assert r.status_code == 200 and r.json()["predictions"] == [1]


def test_invocations_speaks_mlflow(server: ServeProcess) -> None:
    split = {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}}
    r = httpx.post(f"{server.url}/invocations", json=split)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [1]}
    r = httpx.post(f"{server.url}/invocations", json={"dataframe_records": [{"f0": "x"}]})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    for path in ("/ping", "/health", "/version"):
        assert httpx.get(f"{server.url}{path}").status_code == 200


def test_open_inference_protocol(server: ServeProcess) -> None:
    assert httpx.get(f"{server.url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
    meta = httpx.get(f"{server.url}/v2/models/iris").json()
    assert meta["name"] == "iris" and [i["name"] for i in meta["inputs"]] == list(ROW)
    assert httpx.get(f"{server.url}/v2/models/iris/versions/1/ready").json()["ready"]
    body = {
        "id": "r1",
        "inputs": [
            {"name": k, "shape": [1], "datatype": "FP64", "data": [v]} for k, v in ROW.items()
        ],
    }
    for path in ("/v2/models/iris/infer", "/v2/models/iris/versions/1/infer"):
        r = httpx.post(f"{server.url}{path}", json=body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["id"] == "r1" and answer["model_version"] == "1"
        assert answer["outputs"][0]["data"] == [1]
        assert len(answer["parameters"]["prediction_ids"]) == 1
    for path in ("/v2/models/nope/infer", "/v2/models/iris/versions/7/infer"):
        r = httpx.post(f"{server.url}{path}", json=body)
        assert r.status_code == 404 and "not served" in r.json()["error"]
    assert httpx.get(f"{server.url}/v2/models/nope").status_code == 404


def test_bad_bodies_get_clean_errors(server: ServeProcess) -> None:
    r = httpx.post(
        f"{server.url}/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"]
    r = predict(server.url, [{"f0": "a", "f9": 1.0}])
    assert r.status_code == 422
    problems = r.json()["error"]["problems"]
    assert any("f9" in p for p in problems) and any("f1" in p for p in problems)
    r = httpx.post(
        f"{server.url}/predict",
        content=b"x" * 200_000,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    for response in (r,):
        assert "Traceback" not in response.text


def test_metadata_and_openapi(server: ServeProcess) -> None:
    meta = httpx.get(f"{server.url}/metadata").json()
    assert meta["deployment"] == "model-iris"
    (model,) = meta["models"]
    assert model["version"] == 1 and model["flavor"] == "onnx"
    assert [c["name"] for c in model["signature"]["inputs"]["columns"]] == list(ROW)
    assert len(model["input_example"]["records"]) == 3
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    for path in ("/predict", "/invocations", "/v2/models/{name}/infer", "/metrics", "/feedback"):
        assert path in paths


def test_concurrent_requests_are_batched(server: ServeProcess) -> None:
    before = metric(httpx.get(f"{server.url}/metrics").text, "keel_serving_batch_requests_count")
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda _: predict(server.url), range(320)))
    assert all(a.status_code == 200 for a in answers)
    text = httpx.get(f"{server.url}/metrics").text
    batches = metric(text, "keel_serving_batch_requests_count") - before
    assert batches < 320, "every request ran alone"
    assert metric(text, "keel_serving_requests_total", route="predict", status="200") >= 320
    assert "keel_serving_request_seconds_bucket" in text
    assert "keel_serving_queue_rows" in text
    assert "keel_serving_prediction_log_dropped" in text


def test_feedback_is_accepted(server: ServeProcess) -> None:
    ids = predict(server.url, [ROW, ROW]).json()["ids"]
    r = httpx.post(f"{server.url}/feedback", json={"prediction_ids": ids, "labels": [1, 0]})
    assert r.status_code == 202 and r.json() == {"accepted": 2}
    r = httpx.post(f"{server.url}/feedback", json={"prediction_ids": ["nope"], "labels": [1]})
    assert r.status_code == 400 and "prediction_ids[0]" in r.json()["error"]["message"]


def test_every_protocol_sends_the_prediction_ids_in_a_header(
    server: ServeProcess, model_store: dict[str, str]
) -> None:
    """``X-Keel-Prediction-Ids``: the ids of the rows in order, for MLflow callers (whose
    body stays MLflow's) as for the others; they are the logged ids, and take feedback."""
    rows = [ROW, {**ROW, "f0": -3.0, "f1": -3.0}]
    split = {"dataframe_split": {"columns": list(ROW), "data": [list(r.values()) for r in rows]}}
    r = httpx.post(f"{server.url}/invocations", json=split)
    assert r.status_code == 200 and r.json() == {"predictions": [1, 0]}
    mlflow_ids = r.headers[IDS_HEADER].split(",")
    assert len(mlflow_ids) == 2 and all(re.fullmatch("[0-9a-f]{32}", i) for i in mlflow_ids)
    r = httpx.post(f"{server.url}/feedback", json={"prediction_ids": mlflow_ids, "labels": [1, 0]})
    assert r.status_code == 202 and r.json() == {"accepted": 2}

    r = predict(server.url, rows)
    assert r.headers[IDS_HEADER].split(",") == r.json()["ids"]
    body = {"inputs": [{"name": k, "shape": [1], "datatype": "FP64", "data": [v]}
                       for k, v in ROW.items()]}  # fmt: skip
    r = httpx.post(f"{server.url}/v2/models/iris/infer", json=body)
    assert r.headers[IDS_HEADER].split(",") == r.json()["parameters"]["prediction_ids"]
    # Errors have no ids; answers past MAX_HEADER_IDS rows carry them in the body only.
    r = httpx.post(f"{server.url}/invocations", json={"dataframe_records": [{"f0": "x"}]})
    assert r.status_code == 400 and IDS_HEADER not in r.headers
    r = predict(server.url, [ROW] * (MAX_HEADER_IDS + 1))
    assert r.status_code == 200 and len(r.json()["ids"]) == MAX_HEADER_IDS + 1
    assert IDS_HEADER not in r.headers

    # The MLflow answer's ids are those of the prediction log.
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    logged: set[str] = set()
    deadline = time.monotonic() + 20
    while not set(mlflow_ids) <= logged and time.monotonic() < deadline:
        time.sleep(0.2)
        files = db.parent.rglob("predictions/model-iris/**/*.parquet")
        logged = {i for f in files for i in pq.read_table(f, columns=["prediction_id"])
                  .column("prediction_id").to_pylist()}  # fmt: skip
    assert set(mlflow_ids) <= logged


def test_digest_mismatch_refuses_to_start(model_store: dict[str, str], tmp_path: Path) -> None:
    """A model file changed after registration: the server names the problem and exits
    (the file is put back afterwards: the store is shared by the suite)."""
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    files = sorted((db.parent / "artifacts").rglob("model0/*.onnx"))
    assert files
    saved = {path: path.read_bytes() for path in files}
    try:
        for path, data in saved.items():
            path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit off
        proc = ServeProcess("models:/iris/1", tmp_path / "serve.log", model_store)
        proc.start(wait=False)
        assert proc.proc is not None
        try:
            code = proc.proc.wait(60)
        finally:
            proc.stop()
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
    text = (tmp_path / "serve.log").read_text()
    assert code != 0, text[-2000:]
    assert "digest" in text.lower() or "changed" in text.lower(), text[-2000:]
    assert "Traceback" not in text

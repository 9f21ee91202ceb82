"""Faults of a real ``keel serve``: a model that raises or hangs, more load than the
latency budget allows, SIGTERM with requests in flight, the store going away."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path

import httpx

from conftest import ServerProcess
from serving.support import ROW, ServeProcess, metric, predict


def _env(folder: Path) -> dict[str, str]:
    # The package is pickled: trusted through its folder, as an operator would.
    return {
        "KEEL_TRUSTED_MODEL_SOURCES": str(folder.parent),
        "KEEL_HOME": str(folder.parent / "home"),
    }


def _row(delay: float = 0.0, fail: float = 0.0) -> dict[str, float]:
    return {"x": 1.5, "delay": delay, "fail": fail}


def test_a_raising_model_answers_500_with_an_error_id_and_the_server_goes_on(
    faulty_package: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with ServeProcess(str(faulty_package), log, _env(faulty_package)) as server:
        r = predict(server.url, [_row(fail=1.0)])
        assert r.status_code == 500
        error = r.json()["error"]
        assert error["code"] == "model_error" and len(error["error_id"]) == 16
        assert error["error_id"] in error["message"]
        assert "SECRET-INTERNAL-DETAIL" not in r.text and "Traceback" not in r.text
        r = httpx.post(f"{server.url}/invocations", json={"dataframe_records": [_row(fail=1.0)]})
        assert r.status_code == 500 and r.json()["error_code"] == "INTERNAL_ERROR"
        ok = predict(server.url, [_row()])
        assert ok.status_code == 200 and ok.json()["predictions"] == [3.0]
        assert ok.json()["model"]["name"] == "faulty"
    text = log.read_text()
    assert error["error_id"] in text and "SECRET-INTERNAL-DETAIL" in text  # for the operator


def test_a_hanging_model_times_out_with_504_while_health_answers(
    faulty_package: Path, tmp_path: Path
) -> None:
    args = ("--request-timeout", "0.5")
    with ServeProcess(
        str(faulty_package), tmp_path / "serve.log", _env(faulty_package), *args
    ) as server:
        started = time.monotonic()
        r = predict(server.url, [_row(delay=3.0)])
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        assert time.monotonic() - started < 2.5
        assert httpx.get(f"{server.url}/health", timeout=2).status_code == 200
        time.sleep(3)  # the hung call returns; the next request is answered
        assert predict(server.url, [_row()]).status_code == 200
        text = httpx.get(f"{server.url}/metrics").text
        assert metric(text, "keel_serving_errors_total", kind="timeout") >= 1


def test_requests_over_the_latency_budget_are_shed_with_503(
    faulty_package: Path, tmp_path: Path
) -> None:
    args = ("--batch-max-size", "1", "--batch-max-latency-ms", "300")
    with ServeProcess(
        str(faulty_package), tmp_path / "serve.log", _env(faulty_package), *args
    ) as server:
        for _ in range(4):  # the cost model learns: 100 ms a call
            assert predict(server.url, [_row(delay=0.1)]).status_code == 200
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: predict(server.url, [_row(delay=0.1)]), range(20)))
        statuses = [a.status_code for a in answers]
        assert statuses.count(503) >= 5, statuses
        assert statuses.count(200) >= 2, statuses
        shed = next(a for a in answers if a.status_code == 503)
        assert shed.json()["error"]["code"] == "overloaded"
        assert "budget" in shed.json()["error"]["message"]


def test_sigterm_drains_requests_in_flight(faulty_package: Path, tmp_path: Path) -> None:
    server = ServeProcess(str(faulty_package), tmp_path / "serve.log", _env(faulty_package)).start()
    answers: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: answers.append(predict(server.url, [_row(delay=3.0)])))
    slow.start()
    time.sleep(1.0)  # the request is in the model by now
    server.terminate()
    slow.join(20)
    assert server.proc is not None
    # A drained stop is a clean exit (uvicorn's re-raised SIGTERM would make it -15).
    assert server.proc.wait(30) == 0, server.log.read_text()[-2000:]
    assert [a.status_code for a in answers] == [200]
    assert answers[0].json()["predictions"] == [3.0]


def test_the_store_going_away_does_not_stop_predictions(
    model_store: dict[str, str], tmp_path: Path
) -> None:
    """Served through a keel server that is then killed: the loaded model keeps
    answering, the alias checks fail quietly in the log."""
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    store = ServerProcess(
        f"sqlite:///{db}", db.parent / "artifacts", tmp_path / "store.log"
    ).start()
    env = {"KEEL_TRACKING_URI": store.url, "KEEL_HOME": str(tmp_path / "home")}
    log = tmp_path / "serve.log"
    with ServeProcess("models:/iris@champion", log, env, "--poll-interval", "0.2") as server:
        assert predict(server.url).json()["predictions"] == [1]
        store.kill()
        time.sleep(1.0)
        for _ in range(20):
            r = predict(server.url)
            assert r.status_code == 200 and r.json()["model"]["version"] == 1
    assert "keeping the loaded versions" in log.read_text()


def test_a_full_prediction_log_drops_rows_and_counts_them(
    model_store: dict[str, str], tmp_path: Path
) -> None:
    env = {**model_store, "KEEL_PREDICTION_LOG_QUEUE": "1"}
    with ServeProcess("models:/iris@champion", tmp_path / "serve.log", env) as server:
        for _ in range(3):
            assert predict(server.url, [ROW, ROW, ROW]).status_code == 200
        text = httpx.get(f"{server.url}/metrics").text
        assert metric(text, "keel_serving_prediction_log_dropped") >= 9

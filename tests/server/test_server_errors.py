"""Bad input over HTTP: a clear error naming the field, the right status, never a 500,
and nothing written. Non-finite metric values round-trip exactly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import keel
from conftest import ServerProcess, settings_for, unique
from keel.entities.rules import MAX_BATCH_ROWS, MAX_PARAM_VALUE_BYTES
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from server.support import (
    API,
    SERVER_LOG_PROBLEMS,
    assert_error,
    create_experiment,
    get_run,
    history,
    metric_columns,
    new_id,
    now_ms,
    write,
)


@pytest.fixture(scope="module", autouse=True)
def no_server_errors(server: ServerProcess) -> Iterator[None]:
    """Whatever these tests send, the server logs no unexpected error."""
    start = server.log.stat().st_size
    yield
    with open(server.log, "rb") as log:
        log.seek(start)
        new = log.read().decode(errors="replace")
    assert not [line for line in new.splitlines() if any(p in line for p in SERVER_LOG_PROBLEMS)], (
        new[-3000:]
    )


def experiment_count(api: httpx.Client) -> int:
    r = api.get(f"{API}/experiments", params={"view": "all"})
    assert r.status_code == 200, r.text
    return len(r.json()["experiments"])


def assert_no_metric(api: httpx.Client, run_id: str, key: str) -> None:
    assert key not in get_run(api, run_id)["data"]["metrics"]
    assert history(api, run_id, key)["total"] == 0


# experiments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 251, "250"),
        ("bad\x01name", "control"),
        ("line\nbreak", "control"),
        ("nul\x00name", "control"),
    ],
    ids=["empty", "blank", "251-chars", "ctrl-01", "newline", "nul"],
)
def test_invalid_experiment_name_is_400_and_creates_nothing(
    api: httpx.Client, name: str, rule: str
) -> None:
    before = experiment_count(api)
    r = api.post(f"{API}/experiments", json={"name": name})
    assert_error(r, 400, "name", rule)
    assert r.json()["error"]["code"] == "invalid_argument"
    assert experiment_count(api) == before


def test_250_char_name_is_the_limit(api: httpx.Client) -> None:
    name = unique()[:12] + "x" * 238
    assert len(name) == 250
    create_experiment(api, name)
    r = api.get(f"{API}/experiments/by-name", params={"name": name})
    assert r.status_code == 200 and r.json()["name"] == name


def test_artifact_location_on_create_is_refused(api: httpx.Client) -> None:
    before = experiment_count(api)
    name = unique()
    r = api.post(f"{API}/experiments", json={"name": name, "artifact_location": "/tmp/evil"})
    assert_error(r, 400, "artifact_location")
    assert experiment_count(api) == before
    assert api.get(f"{API}/experiments/by-name", params={"name": name}).status_code == 404


def test_duplicate_experiment_name_is_409(api: httpx.Client) -> None:
    name = unique()
    create_experiment(api, name)
    before = experiment_count(api)
    assert_error(api.post(f"{API}/experiments", json={"name": name}), 409, name)
    assert experiment_count(api) == before


# params -----------------------------------------------------------------------------------


def test_param_over_8_kib_is_400_and_not_stored(api: httpx.Client, run_id: str) -> None:
    r = write(api, run_id, params={"big": "x" * (MAX_PARAM_VALUE_BYTES + 1)})
    assert_error(r, 400, "big", str(MAX_PARAM_VALUE_BYTES))
    # Bytes, not characters: 4,097 two-byte characters are 8,194 bytes.
    assert_error(write(api, run_id, params={"wide": "é" * 4097}), 400, "wide", "bytes")
    assert get_run(api, run_id)["data"]["params"] == {}
    # Exactly at the limit is fine.
    ok = write(api, run_id, params={"edge": "y" * MAX_PARAM_VALUE_BYTES})
    assert ok.status_code == 200, ok.text
    assert get_run(api, run_id)["data"]["params"] == {"edge": "y" * MAX_PARAM_VALUE_BYTES}


def test_relogging_param_with_new_value_is_409(api: httpx.Client, run_id: str) -> None:
    assert write(api, run_id, params={"lr": "0.1"}).status_code == 200
    assert_error(write(api, run_id, params={"lr": "0.2"}), 409, "lr", "0.1")
    assert get_run(api, run_id)["data"]["params"] == {"lr": "0.1"}
    # The same value again is not a change.
    assert write(api, run_id, params={"lr": "0.1"}).status_code == 200


def test_refused_batch_writes_nothing_of_itself(api: httpx.Client, run_id: str) -> None:
    assert write(api, run_id, params={"lr": "0.1"}).status_code == 200
    r = write(
        api,
        run_id,
        params={"lr": "0.5", "fresh": "1"},
        tags={"t": "v"},
        metrics=metric_columns("loss", [1.0, 2.0]),
    )
    assert_error(r, 409, "lr")
    data = get_run(api, run_id)["data"]
    assert data["params"] == {"lr": "0.1"}
    assert "t" not in data["tags"]
    assert_no_metric(api, run_id, "loss")


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"params": {"bad key!": "1"}}, ["param key"]),
        ({"params": {"": "1"}}, ["param key", "empty"]),
        ({"tags": {"k": "v\x00"}}, ["tag", "NUL"]),
        ({"metrics": metric_columns("a/../b", [1.0])}, ["metric key"]),
        ({"metrics": {"keys": ["m", "m"], "values": [1.0], "timestamps": [1], "steps": [0]}},
         ["length"]),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": [1], "steps": [2**63]}},
         ["step"]),
    ],
    ids=["key-alphabet", "empty-key", "nul-tag", "dotdot-metric", "ragged", "step-2^63"],
)  # fmt: skip
def test_invalid_write_fields_are_400(
    api: httpx.Client, run_id: str, fields: dict[str, Any], mentions: list[str]
) -> None:
    r = write(api, run_id, **fields)
    assert_error(r, 400, *mentions)
    data = get_run(api, run_id)["data"]
    assert data == {"metrics": {}, "params": {}, "tags": data["tags"]}
    assert "k" not in data["tags"]


def test_batch_over_row_limit_is_413_and_writes_nothing(api: httpx.Client, run_id: str) -> None:
    n = MAX_BATCH_ROWS + 1
    r = write(api, run_id, metrics=metric_columns("big", [0.5] * n))
    assert_error(r, 413, str(MAX_BATCH_ROWS))
    assert r.json()["error"]["code"] == "payload_too_large"
    # Params and tags count as rows too.
    r = write(api, run_id, params={"p": "1"}, metrics=metric_columns("big", [0.5] * MAX_BATCH_ROWS))
    assert_error(r, 413, str(MAX_BATCH_ROWS))
    assert_no_metric(api, run_id, "big")
    assert get_run(api, run_id)["data"]["params"] == {}


# unknown ids --------------------------------------------------------------------------------


def test_unknown_experiment_and_run_are_404(api: httpx.Client, exp_id: str) -> None:
    ghost = new_id()
    assert_error(api.get(f"{API}/experiments/987654321"), 404, "987654321")
    assert_error(api.get(f"{API}/experiments/not-a-number"), 404)
    assert_error(api.get(f"{API}/experiments/by-name", params={"name": unique()}), 404)
    assert_error(api.delete(f"{API}/experiments/987654321"), 404)
    assert_error(api.put(f"{API}/experiments/987654321/tags", json={"key": "k", "value": "v"}), 404)
    assert_error(api.get(f"{API}/runs/{ghost}"), 404, ghost)
    assert_error(api.patch(f"{API}/runs/{ghost}", json={"run_name": "x"}), 404, ghost)
    assert_error(api.delete(f"{API}/runs/{ghost}"), 404, ghost)
    assert_error(api.get(f"{API}/runs/{ghost}/metrics/history", params={"key": "m"}), 404)
    assert_error(api.get(f"{API}/runs/{ghost}/artifacts"), 404, ghost)
    assert_error(api.get(f"{API}/runs/{ghost}/artifacts/stat", params={"path": "f"}), 404)
    assert_error(api.get(f"{API}/runs/{ghost}/artifacts/content", params={"path": "f"}), 404)
    r = api.put(f"{API}/runs/{ghost}/artifacts/content", params={"path": "f"}, content=b"x")
    assert_error(r, 404, ghost)
    # Writing to a run that does not exist, or creating one in an unknown experiment.
    assert_error(write(api, ghost, params={"p": "1"}), 404, ghost)
    create = {"experiment_id": "987654321", "run_name": "r", "start_time": now_ms()}
    assert_error(write(api, ghost, create=create), 404, "987654321")
    assert_error(api.post(f"{API}/runs", json={"experiment_id": "987654321"}), 404)
    assert api.get(f"{API}/runs/{ghost}").status_code == 404


# malformed bodies ---------------------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [b'{"name":', b"{not json", b"", b"\xff\xfe\x00", b"[]", b"null", b'"name"', b"{" * 5000],
    ids=["truncated", "garbage", "empty", "not-utf8", "array", "null", "string", "deep"],
)
def test_malformed_json_is_a_client_error(api: httpx.Client, body: bytes) -> None:
    before = experiment_count(api)
    for path in (f"{API}/experiments", f"{API}/writes", f"{API}/runs/search"):
        r = api.post(path, content=body, headers=JSON_HEADERS)
        assert r.status_code in (400, 422), (path, r.status_code, r.text[:300])
        assert_error(r, r.status_code)
    assert experiment_count(api) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/experiments", {"name": 5}, "name"),
        ("/experiments", {"name": ["a"]}, "name"),
        ("/experiments", {"name": "ok", "tags": {"k": 1}}, "tags"),
        ("/experiments", {"name": "ok", "unexpected": 1}, "unexpected"),
        ("/experiments", {}, "name"),
        ("/writes", {"batch_id": 7, "runs": []}, "batch_id"),
        ("/writes", {"batch_id": "", "runs": []}, "batch_id"),
        ("/writes", {"batch_id": "b" * 65, "runs": []}, "batch_id"),
        ("/writes", {"batch_id": "b", "runs": {}}, "runs"),
        ("/runs/search", {"experiment_ids": []}, "experiment_ids"),
        ("/runs/search", {"experiment_ids": ["1"], "max_results": "many"}, "max_results"),
        ("/runs/reap", {"silent_for_ms": 0}, "silent_for_ms"),
    ],
)
def test_wrong_types_are_422(
    api: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    before = experiment_count(api)
    r = api.post(API + path, json=body)
    assert_error(r, 422, field)
    assert experiment_count(api) == before


@pytest.mark.parametrize("experiment_id", [str(2**63), str(2**64), str(-(2**63) - 1), "7_0", "٣"])
def test_an_experiment_id_no_column_holds_is_404_not_500(
    api: httpx.Client, experiment_id: str
) -> None:
    """Found by the API fuzzer: ids past 2**63 overflowed in the SQLite driver (500)."""
    assert_error(api.get(f"{API}/experiments/{experiment_id}"), 404, "no such experiment")
    r = api.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id]})
    assert_error(r, 400, "experiment_ids")
    r = api.post(f"{API}/runs", json={"experiment_id": experiment_id})
    assert_error(r, 404, "no such experiment")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/runs/reap", {"silent_for_ms": 2**63}, "silent_for_ms"),
        ("/runs/reap", {"silent_for_ms": 2**64}, "silent_for_ms"),
        ("/runs/search", {"experiment_ids": ["1"], "max_results": 2**63}, "max_results"),
        ("/runs/search", {"experiment_ids": ["1"], "max_results": 0}, "max_results"),
        ("/runs", {"experiment_id": "1", "start_time": 2**64}, "start_time"),
        ("/runs", {"experiment_id": "1", "start_time": -1}, "start_time"),
        ("/runs/reap", {"silent_for_ms": True}, "silent_for_ms"),  # would reap every run
        ("/runs/reap", {"silent_for_ms": "5"}, "silent_for_ms"),
        ("/runs", {"experiment_id": "1", "start_time": True}, "start_time"),
        ("/runs/search", {"experiment_ids": ["1"], "max_results": True}, "max_results"),
        ("/runs/" + "0" * 32 + "/inputs", {"name": "d", "version": True}, "version"),
    ],
)
def test_numbers_out_of_range_or_not_json_integers_are_422(
    api: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    """Found by the API fuzzer: ``silent_for_ms`` of 2**64 was an OverflowError (500), and
    ``true`` was read as 1 (every running run silent for a millisecond was reaped)."""
    assert_error(api.post(API + path, json=body), 422, field)


@pytest.mark.parametrize("verify", [0, 1, "true", "yes", None])
def test_verify_of_missing_objects_is_a_json_boolean(api: httpx.Client, verify: object) -> None:
    """Found by the API fuzzer (negative_data_rejection): ``verify: 0`` was coerced to
    false and answered 200, though the document says a boolean."""
    r = api.post(f"{API}/dataset-objects/missing", json={"digests": [], "verify": verify})
    assert_error(r, 422, "verify")
    r = api.post(f"{API}/dataset-objects/missing", json={"digests": [], "verify": True})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"params": {"p": 5}}, "params.p"),
        ({"params": ["p"]}, "params"),
        ({"metrics": {"keys": ["m"], "values": ["abc"], "timestamps": [1], "steps": [0]}},
         "values"),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": ["x"], "steps": [0]}},
         "timestamps"),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": [1], "steps": [1.5]}},
         "steps"),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": [1]}}, "steps"),
        ({"end": {"status": "RUNNING", "end_time": 1}}, "status"),
        ({"metrics": {"keys": ["m"], "values": [True], "timestamps": [1], "steps": [0]}},
         "values"),
        ({"metrics": {"keys": ["m"], "values": ["0.5"], "timestamps": [1], "steps": [0]}},
         "values"),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": [True], "steps": [0]}},
         "timestamps"),
        ({"metrics": {"keys": ["m"], "values": [1.0], "timestamps": [1], "steps": ["3"]}},
         "steps"),
        ({"heartbeat": "soon"}, "heartbeat"),
    ],
    ids=["param-int", "params-list", "value-str", "ts-str", "step-float", "missing-steps",
         "end-running", "value-bool", "value-numeric-str", "ts-bool", "step-str",
         "heartbeat-str"],
)  # fmt: skip
def test_wrong_types_in_writes_are_422_and_write_nothing(
    api: httpx.Client, run_id: str, fields: dict[str, Any], field: str
) -> None:
    r = write(api, run_id, **{"params": {"good": "1"}, **fields})
    assert_error(r, 422, field)
    run = get_run(api, run_id)
    assert run["data"]["params"] == {} and run["data"]["metrics"] == {}
    assert run["info"]["status"] == "RUNNING"


def test_wrong_query_types_are_422(api: httpx.Client, run_id: str) -> None:
    url = f"{API}/runs/{run_id}/metrics/history"
    assert_error(api.get(url, params={"key": "m", "max_points": "lots"}), 422, "max_points")
    assert_error(api.get(url, params={"key": "m", "max_points": 1}), 422, "max_points")
    assert_error(api.get(url), 422, "key")
    assert_error(api.get(f"{API}/experiments", params={"view": "sideways"}), 422, "view")
    assert_error(api.patch(f"{API}/runs/{run_id}", json={"status": "DONE"}), 422, "status")
    assert get_run(api, run_id)["info"]["status"] == "RUNNING"


def test_unknown_route_and_method_are_json_errors(api: httpx.Client) -> None:
    assert_error(api.get(f"{API}/nope"), 404)
    assert_error(api.put(f"{API}/experiments"), 405)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/experiments", "GET, POST"),
        ("/experiments/1", "DELETE, GET"),
        ("/runs/" + "0" * 32, "DELETE, GET, PATCH"),
        ("/registered-models/m/aliases/a", "DELETE, GET, PUT"),
        ("/runs/reap", "POST"),  # a concrete path is not /runs/{run_id}
        ("/experiments/by-name", "GET"),
        ("/dataset-objects/missing", "POST"),
    ],
)
def test_a_405_allows_every_method_of_the_resource(
    api: httpx.Client, path: str, allowed: str
) -> None:
    """Found by the API fuzzer: ``Allow`` named the methods of the first route whose path
    matched (``OPTIONS /experiments/1`` said ``GET`` only, though DELETE is served)."""
    r = api.options(API + path)
    assert_error(r, 405)
    assert r.headers["allow"] == allowed


# non-finite metrics -------------------------------------------------------------------------

EXACT = ["NaN", "Infinity", "-Infinity", 0.1, -0.0, 1.7976931348623157e308, 5e-324, -2.5, "NaN"]


def test_non_finite_metrics_round_trip_over_http(api: httpx.Client, run_id: str) -> None:
    r = write(api, run_id, metrics=metric_columns("m", EXACT))
    assert r.status_code == 200, r.text
    got = history(api, run_id, "m")
    assert got["total"] == len(EXACT)
    assert got["steps"] == list(range(len(EXACT)))
    assert got["values"] == EXACT
    # The run's latest value (highest step) is NaN and travels as "NaN".
    assert get_run(api, run_id)["data"]["metrics"]["m"] == "NaN"
    for value in ("Infinity", "-Infinity"):
        key = f"only{value}"
        assert write(api, run_id, metrics=metric_columns(key, [value])).status_code == 200
        assert get_run(api, run_id)["data"]["metrics"][key] == value
        assert history(api, run_id, key)["values"] == [value]
    # Downsampled histories carry them too.
    values = history(api, run_id, "m", max_points=4)["values"]
    assert set(values) <= {*map(str, EXACT), *(v for v in EXACT if v != "NaN")}


def test_unknown_non_finite_spellings_are_refused(api: httpx.Client, run_id: str) -> None:
    for bad in ("inf", "nan", "Inf", "+Infinity", "nan(1)", "1e400x", "", "0.5", True, None):
        r = write(api, run_id, metrics=metric_columns("m", [bad]))
        assert r.status_code in (400, 422), (bad, r.text)
    assert_no_metric(api, run_id, "m")


# through keel.Client --------------------------------------------------------------------------


@pytest.fixture
def rest_client(server: ServerProcess, tmp_path: Path) -> Any:
    client = keel.Client(server.url, settings=settings_for(tmp_path))
    yield client
    client.close()


def test_client_sees_typed_errors(rest_client: keel.Client, server: ServerProcess) -> None:
    c = rest_client
    for bad in ("", "x" * 251, "a\x07b"):
        with pytest.raises(InvalidArgument, match="name"):
            c.create_experiment(bad)
    with pytest.raises(InvalidArgument, match="artifact_location"):
        c.create_experiment(unique(), artifact_location="/tmp/elsewhere")
    name = unique()
    exp = c.create_experiment(name)
    with pytest.raises(AlreadyExists):
        c.create_experiment(name)
    with pytest.raises(NotFound):
        c.get_experiment("987654321")
    with pytest.raises(NotFound):
        c.get_run(new_id())
    assert c.get_experiment_by_name(unique()) is None

    run = c.create_run(exp).run_id
    with pytest.raises(InvalidArgument, match=str(MAX_PARAM_VALUE_BYTES)):
        c.log_param(run, "big", "x" * (MAX_PARAM_VALUE_BYTES + 1))
    c.log_param(run, "lr", 0.1)
    with pytest.raises(Conflict):
        c.log_param(run, "lr", 0.2)
    c.flush()
    # Another client does not know what was logged: the server refuses the change.
    other = keel.Client(server.url, settings=settings_for(Path(c.settings.home).parent / "o"))
    try:
        other.log_param(run, "lr", 0.3)
        with pytest.raises(Conflict, match="lr"):
            other.flush()
    finally:
        other.close()
    assert c.get_run(run).data.params == {"lr": "0.1"}


def test_client_non_finite_metrics_round_trip(rest_client: keel.Client) -> None:
    c = rest_client
    run = c.create_run(c.create_experiment(unique())).run_id
    values = [math.nan, math.inf, -math.inf, 0.25, -0.0]
    for step, value in enumerate(values):
        c.log_metric(run, "m", value, step=step)
    c.log_metric(run, "last", math.nan, step=3)
    got = c.get_metric_history(run, "m")
    assert list(got.steps) == list(range(len(values)))
    assert math.isnan(got.values[0])
    assert list(got.values[1:]) == values[1:]
    stored = c.get_run(run).data.metrics
    assert stored["m"] == 0.0 and math.isnan(stored["last"])

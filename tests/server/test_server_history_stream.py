"""Metric histories stream from the server as JSON lines: exact values (NaN and both
infinities included), bounded server memory, and a client that never takes a cut stream
for a short history."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx
import orjson
import pytest

from conftest import ServerProcess
from keel.entities import MetricHistory
from keel.errors import NotFound, StoreUnavailable
from keel.server.streams import json_lines
from keel.store.rest import RestTrackingStore
from server.support import (
    API,
    create_experiment,
    create_run,
    history,
    history_from_lines,
    metric_columns,
    write,
)

CHUNK = 65_536
SPECIAL = {7: math.nan, 11: math.inf, 13: -math.inf, 17: -0.0, 19: 5e-324, 23: 1.79e308}


def value(i: int) -> float:
    return SPECIAL.get(i % 100_003, 1.0 / (i + 1))


def wire(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def expected(key: str, n: int) -> MetricHistory:
    return MetricHistory(
        key, list(range(n)), [value(i) for i in range(n)], [1_700_000_000_000 + i for i in range(n)]
    )


def seed_with_sql(db: Path, run_id: str, key: str, n: int) -> None:
    """A series of ``n`` points written straight into the server's SQLite file (writing a
    million points through the API would take most of a minute here)."""
    with closing(sqlite3.connect(db, timeout=60, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        series_id = conn.execute(
            "INSERT INTO metric_series (run_uuid, key, last_value, last_step, last_timestamp,"
            " points) VALUES (?, ?, ?, ?, ?, ?) RETURNING series_id",
            (run_id, key, value(n - 1), n - 1, 1_700_000_000_000 + n - 1, n),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO metric_points (series_id, step, timestamp, seq, value)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (series_id, i, 1_700_000_000_000 + i, i, None if math.isnan(v) else v)
                for i in range(n)
                for v in (value(i),)
            ),
        )
        conn.execute("COMMIT")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# through a real server ------------------------------------------------------------------


def test_long_history_round_trips_exactly_in_chunks(
    server: ServerProcess, api: httpx.Client, run_id: str
) -> None:
    n = 2 * CHUNK + 1234
    want = expected("loss", n)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        columns = metric_columns("loss", [wire(v) for v in want.values[start:stop]], start)
        columns["timestamps"] = want.timestamps[start:stop]
        assert write(api, run_id, metrics=columns).status_code == 200

    store = RestTrackingStore(server.url)
    try:
        got = store.get_metric_history(run_id, "loss")
        assert got == want and got.total == n
        # Infinities keep their sign. (-0.0 comes back as 0.0: SQLite stores it so.)
        assert [math.copysign(1, v) for v in got.values[:30] if math.isinf(v)] == [1, -1]
        chunks = list(store.iter_metric_history(run_id, "loss"))
        assert [len(c) for c in chunks] == [CHUNK, CHUNK, 1234]
        assert {c.total for c in chunks} == {n}
        small = store.get_metric_history(run_id, "loss", max_points=100)
        assert 0 < len(small) <= 100 and small.total == n and small.is_downsampled
        assert store.get_metric_history(run_id, "none") == MetricHistory("none", [], [], [])
        with pytest.raises(NotFound):
            store.get_metric_history("0" * 32, "loss")
    finally:
        store.close()

    # On the wire: a head, chunks of at most CHUNK points, and the count at the end.
    r = api.get(f"{API}/runs/{run_id}/metrics/history", params={"key": "loss"})
    lines = r.text.splitlines()
    assert len(lines) == 5 and orjson.loads(lines[0]) == {"key": "loss", "total": n}
    assert history_from_lines(r)["values"][:30] == [wire(v) for v in want.values[:30]]
    assert history(api, run_id, "none") == {
        "key": "none", "total": 0, "steps": [], "values": [], "timestamps": []
    }  # fmt: skip


def test_history_streams_in_bounded_server_memory(own_server: ServerProcess) -> None:
    """A million points: the first line comes at once, the body is chunked (no length
    known up front), and the server holds a chunk, not the series."""
    n = 1_000_000
    with httpx.Client(base_url=own_server.url, timeout=60) as api:
        run_id = create_run(api, create_experiment(api))
        db = Path(own_server.backend.removeprefix("sqlite:///"))
        seed_with_sql(db, run_id, "big", n)
        assert own_server.proc is not None
        pid = own_server.proc.pid
        idle = peak = rss_mib(pid)
        url = f"{API}/runs/{run_id}/metrics/history"
        started = time.perf_counter()
        with api.stream("GET", url, params={"key": "big"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/x-ndjson"
            assert response.headers.get("transfer-encoding") == "chunked"
            assert "content-length" not in response.headers
            lines = response.iter_lines()
            assert orjson.loads(next(lines)) == {"key": "big", "total": n}
            first_line_s = time.perf_counter() - started
            count = 0
            for line in lines:
                found = orjson.loads(line)
                if "done" in found:
                    assert found == {"done": True, "count": n}
                    break
                count += len(found["steps"])
                peak = max(peak, rss_mib(pid))
            total_s = time.perf_counter() - started
    assert count == n
    assert first_line_s < total_s / 4, (first_line_s, total_s)
    # Building the whole answer took ~280 MiB more for a million points; a chunk is a few.
    assert peak - idle < 100, (idle, peak)


def test_server_killed_mid_stream_is_an_error_not_a_short_history(
    own_server: ServerProcess,
) -> None:
    n = 1_000_000
    with httpx.Client(base_url=own_server.url, timeout=60) as api:
        run_id = create_run(api, create_experiment(api))
    seed_with_sql(Path(own_server.backend.removeprefix("sqlite:///")), run_id, "big", n)
    store = RestTrackingStore(own_server.url)
    try:
        chunks = store.iter_metric_history(run_id, "big")
        got = len(next(chunks))
        own_server.kill()
        with pytest.raises(StoreUnavailable, match=r"cut short|stopped"):
            for chunk in chunks:
                got += len(chunk)
        assert got < n
    finally:
        store.close()


# a stream that ends wrong, from a scripted server -----------------------------------------


@contextmanager
def scripted_server(body: bytes, *, complete: bool) -> Iterator[str]:
    """A loopback HTTP server whose history route answers ``body`` as a chunked stream;
    with ``complete=False`` it drops the connection instead of ending the body."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
            if complete:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def lines(*objects: object) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objects)


HEAD = {"key": "m", "total": 3}
CHUNK_LINE = {"steps": [0, 1], "values": [0.5, "NaN"], "timestamps": [10, 11]}


@pytest.mark.parametrize(
    ("body", "complete", "error"),
    [
        (lines(HEAD, CHUNK_LINE), True, StoreUnavailable),  # ends cleanly, without its end
        (lines(HEAD, CHUNK_LINE), False, StoreUnavailable),  # connection dropped
        (lines(HEAD, CHUNK_LINE) + b'{"steps": [2], "val', True, StoreUnavailable),
        (lines(HEAD, CHUNK_LINE, {"done": True, "count": 3}), True, StoreUnavailable),
        (lines(HEAD), True, StoreUnavailable),
        (b"", True, StoreUnavailable),
        (lines(HEAD, {"error": {"code": "not_found", "message": "gone"}}), True, NotFound),
    ],
    ids=["no-end", "dropped", "mid-line", "wrong-count", "head-only", "empty", "error-line"],
)
def test_a_stream_that_ends_wrong_raises(body: bytes, complete: bool, error: type) -> None:
    with scripted_server(body, complete=complete) as url:
        store = RestTrackingStore(url, timeout=10)
        try:
            with pytest.raises(error):
                store.get_metric_history("a" * 32, "m")
        finally:
            store.close()


def test_a_complete_stream_is_read() -> None:
    body = lines(HEAD, CHUNK_LINE, {"steps": [5], "values": ["-Infinity"], "timestamps": [12]})
    with scripted_server(body + lines({"done": True, "count": 3}), complete=True) as url:
        store = RestTrackingStore(url, timeout=10)
        try:
            got = store.get_metric_history("a" * 32, "m")
        finally:
            store.close()
    assert got == MetricHistory("m", [0, 1, 5], [0.5, math.nan, -math.inf], [10, 11, 12], total=3)


# the server's side of a failure mid-stream -----------------------------------------------


def test_an_error_mid_stream_ends_it_with_an_error_line() -> None:
    closed = []

    def produce() -> Generator[dict[str, object], None, None]:
        try:
            yield HEAD
            raise NotFound("run went away")
        finally:
            closed.append(True)

    async def collect() -> list[bytes]:
        response = json_lines(produce())
        return [bytes(chunk) async for chunk in response.body_iterator]

    sent = anyio.run(collect)
    assert [orjson.loads(c) for c in sent] == [
        HEAD,
        {"error": {"code": "not_found", "message": "run went away"}},
    ]
    assert all(c.endswith(b"\n") for c in sent) and closed == [True]

"""Plain helpers for the server suite (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"

# What a server log must never contain after a test that expects no server errors.
SERVER_LOG_PROBLEMS = (
    "Traceback",
    "unexpected error",
    "database is locked",
    "Exception in ASGI application",
    "internal_error",
)


def new_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
    return int(time.time() * 1000)


def create_experiment(api: httpx.Client, name: str | None = None) -> str:
    r = api.post(f"{API}/experiments", json={"name": name or f"exp-{new_id()[:10]}"})
    assert r.status_code == 201, r.text
    return str(r.json()["experiment_id"])


def create_run(api: httpx.Client, experiment_id: str) -> str:
    r = api.post(f"{API}/runs", json={"experiment_id": experiment_id, "run_name": "r"})
    assert r.status_code == 201, r.text
    return str(r.json()["info"]["run_id"])


def write(api: httpx.Client, run_id: str, **fields: Any) -> httpx.Response:
    """POST one write batch touching ``run_id`` (``params=``, ``metrics=``, ...)."""
    body = {"batch_id": new_id(), "runs": [{"run_id": run_id, **fields}]}
    return api.post(f"{API}/writes", json=body)


def metric_columns(key: str, values: list[Any], start_step: int = 0) -> dict[str, list[Any]]:
    n = len(values)
    return {
        "keys": [key] * n,
        "values": values,
        "timestamps": [1_700_000_000_000 + i for i in range(n)],
        "steps": list(range(start_step, start_step + n)),
    }


def get_run(api: httpx.Client, run_id: str) -> dict[str, Any]:
    r = api.get(f"{API}/runs/{run_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def history(api: httpx.Client, run_id: str, key: str, **params: Any) -> dict[str, Any]:
    """A metric's history read from its stream of JSON lines, as one dict ``{key, total,
    steps, values, timestamps}``; the stream must be complete."""
    r = api.get(f"{API}/runs/{run_id}/metrics/history", params={"key": key, **params})
    assert r.status_code == 200, r.text
    return history_from_lines(r)


def history_from_lines(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"] == "application/x-ndjson", r.headers
    assert r.text.endswith("\n"), r.text[-200:]
    head, *chunks, end = (json.loads(line) for line in r.text.splitlines())
    assert set(head) == {"key", "total"}, head
    got: dict[str, Any] = {**head, "steps": [], "values": [], "timestamps": []}
    for chunk in chunks:
        assert set(chunk) == {"steps", "values", "timestamps"}, chunk
        assert chunk["steps"], "an empty chunk"
        for column, values in chunk.items():
            got[column] += values
    assert end == {"done": True, "count": len(got["steps"])}, end
    return got


def assert_error(r: httpx.Response, status: int, *mentions: str) -> str:
    """``r`` is a clean error of ``status`` in Keel's shape; its message names ``mentions``."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    message = error.get("message")
    assert isinstance(message, str) and message, body
    for word in mentions:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return message


def snapshot_tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below ``root``: relative path -> (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(folder, name)
            st = full.lstat()
            found[str(full.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return found


def log_problems(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if any(p in line for p in SERVER_LOG_PROBLEMS)]

"""What authentication costs over HTTP: two `keel server`s side by side, one open and one
whose store has a user (a non-admin editor, so each request's role on the run's project is
looked up), the same data in each, and the same requests sent to them in alternation, so
that whatever else the machine does falls on both alike. Prints the median of each kind
of request on each server and the difference.

    .venv/bin/python bench/auth_http.py [--rounds 40]

The tracking benchmark runs its tools one after the other, minutes apart; on a shared
machine that drifts by more than the few microseconds a token check costs, which is why
this one alternates.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from _anchors import KEEL_VENV
from _servers import ServerProcess, free_port, loopback_env, start_server

API = "/api/v1"
KEEL = str(KEEL_VENV / "bin" / "keel")


def launch(folder: Path, *, with_user: bool) -> tuple[ServerProcess, dict[str, str]]:
    folder.mkdir(parents=True)
    db = f"sqlite:///{folder / 'keel.db'}"
    headers = {"Content-Type": "application/json"}
    if with_user:
        made = subprocess.run(
            [KEEL, "users", "create", "bench", "--json", "-t", db],
            check=True, capture_output=True, text=True, env=loopback_env({}),
        )  # fmt: skip
        token = json.loads(made.stdout)["token"]["token"]
        subprocess.run(
            [KEEL, "projects", "grant", "default", "bench", "editor", "-t", db],
            check=True, capture_output=True, env=loopback_env({}),
        )  # fmt: skip
        headers["Authorization"] = f"Bearer {token}"
    port = free_port()
    server = start_server(
        "keel-auth" if with_user else "keel",
        [KEEL, "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", db, "--artifacts-uri", str(folder / "artifacts"),
         "--workers", "1"],
        port=port, health_path="/health", log_path=folder / "server.log", cwd=folder,
        env={"KEEL_RATE_LIMIT": "1000000/minute"},
    )  # fmt: skip
    return server, headers


def write(http: httpx.Client, run_id: str, **fields: object) -> None:
    """One write batch (``POST /api/v1/writes``), as the client sends them."""
    batch = {"batch_id": uuid.uuid4().hex, "runs": [{"run_id": run_id, **fields}]}
    http.post(f"{API}/writes", json=batch).raise_for_status()


def points(key: str, steps: range) -> dict[str, list[object]]:
    n = len(steps)
    return {"keys": [key] * n, "values": [s / 1000 for s in steps],
            "timestamps": [1] * n, "steps": list(steps)}  # fmt: skip


def seed(http: httpx.Client, runs: int, history: int) -> tuple[str, str]:
    """An experiment of ``runs`` runs with params and a metric; one run with a metric of
    ``history`` steps. Returns the experiment id and that run's id."""
    made = http.post(f"{API}/experiments", json={"name": "auth"})
    made.raise_for_status()
    experiment = made.json()["experiment_id"]
    run_ids = []
    for i in range(runs):
        run = http.post(f"{API}/runs", json={"experiment_id": experiment, "run_name": f"r{i}"})
        run.raise_for_status()
        run_id = run.json()["info"]["run_id"]
        run_ids.append(run_id)
        params = {f"p{j}": str(j) for j in range(5)}
        write(http, run_id, params=params, metrics=points("loss", range(i % 7, i % 7 + 1)))
    for start in range(0, history, 10_000):
        write(http, run_ids[0], metrics=points("curve", range(start, min(start + 10_000, history))))
    return experiment, run_ids[0]


def requests_of(http: httpx.Client, experiment: str, run_id: str) -> dict[str, Callable[[], None]]:
    search = {"experiment_ids": [experiment], "filter": "metrics.loss < 5", "max_results": 100}
    steps = iter(range(10**9))

    def log_ten(n: int) -> None:
        write(http, run_id, metrics=points("m", range(n * 10, n * 10 + 10)))

    def ok(response: httpx.Response) -> None:
        response.raise_for_status()

    return {
        "get a run": lambda: ok(http.get(f"{API}/runs/{run_id}")),
        "log a batch of 10 points": lambda: log_ten(next(steps)),
        "search 100 runs with a filter": lambda: ok(http.post(f"{API}/runs/search", json=search)),
        "metric history, all points": lambda: ok(
            http.get(f"{API}/runs/{run_id}/metrics/history", params={"key": "curve"})
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keel-auth-http-"))
    servers: list[ServerProcess] = []
    try:
        sides = {}
        for name, with_user in (("open", False), ("token auth", True)):
            server, headers = launch(workdir / name.replace(" ", "-"), with_user=with_user)
            servers.append(server)
            http = httpx.Client(
                base_url=server.base_url, headers=headers, timeout=120, trust_env=False
            )
            sides[name] = requests_of(http, *seed(http, args.runs, args.points))
        times: dict[tuple[str, str], list[float]] = {}
        kinds = list(sides["open"])
        for round_ in range(args.rounds + 3):  # three rounds of warm-up
            order = ("open", "token auth") if round_ % 2 == 0 else ("token auth", "open")
            for kind in kinds:
                for side in order:
                    start = time.perf_counter()
                    sides[side][kind]()
                    took = time.perf_counter() - start
                    if round_ >= 3:
                        times.setdefault((side, kind), []).append(took)
        print(f"Authentication's cost over HTTP ({args.rounds} alternating rounds, medians):\n")
        print("| request | open (ms) | token auth (ms) | difference |")
        print("|---|---|---|---|")
        for kind in kinds:
            plain = statistics.median(times[("open", kind)]) * 1000
            checked = statistics.median(times[("token auth", kind)]) * 1000
            print(
                f"| {kind} | {plain:.2f} | {checked:.2f} | "
                f"{checked - plain:+.2f} ms ({checked / plain - 1:+.1%}) |"
            )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

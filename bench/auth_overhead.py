"""What authentication adds to a request on the server, in process: the bearer token's
cached look-up, the permission check on a run's project and the rate limit, against the
same request's parsing alone. Prints microseconds a request; compare with the server's
CPU per request on the tracking benchmark (about 1.5 ms for a small write batch).

    .venv/bin/python bench/auth_overhead.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from starlette.requests import Request

from keel.access.authenticator import Authenticator
from keel.access.service import AccessService
from keel.config import Settings
from keel.server.auth import authenticate, rate_limit, requires
from keel.store import open_backend

N = 20_000


def main() -> None:
    folder = tempfile.mkdtemp(prefix="keel-auth-bench-")
    backend = open_backend(f"sqlite:///{folder}/keel.db", Settings(home=Path(folder)))
    access = AccessService(backend.access)
    _, issued = access.create_principal("alice")
    access.grant("default", "alice", "editor")
    experiment = backend.tracking.create_experiment("bench")
    run_id = backend.tracking.create_run(experiment, run_name="r").info.run_id
    state = SimpleNamespace(auth=Authenticator(backend.access), rate_limit=None)
    app = SimpleNamespace(state=state)
    guard = requires("run:write").dependency
    header = (b"authorization", f"Bearer {issued.secret}".encode())

    def request() -> Request:
        return Request(
            {
                "type": "http",
                "method": "PATCH",
                "path": f"/api/v1/runs/{run_id}",
                "headers": [header],
                "query_string": b"",
                "app": app,
                "path_params": {"run_id": run_id},
            }
        )

    async def checked() -> None:
        r = request()
        await authenticate(r)
        await guard(r)

    async def per_request(step: object) -> float:
        for _ in range(200):  # warm the caches
            await checked()
        start = time.perf_counter()
        for _ in range(N):
            if step is None:
                request()
            else:
                await checked()
        return (time.perf_counter() - start) / N * 1e6

    for spec in ("none", "1000000000/minute"):  # on, never reached
        state.rate_limit = rate_limit(spec)
        base = asyncio.run(per_request(None))
        total = min(asyncio.run(per_request(True)) for _ in range(3))
        print(
            f"rate limit {spec:>18}: authentication + permission {total - base:5.1f} µs a request"
        )
    backend.close()


if __name__ == "__main__":
    main()

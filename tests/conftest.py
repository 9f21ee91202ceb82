"""Fixtures shared by the suite: real stores (SQLite files, a PostgreSQL server, a real
`keel server` on a loopback port) and nothing mocked that Keel owns.

PostgreSQL tests use ``KEEL_TEST_POSTGRES_URI`` (default: the local server at
127.0.0.1:5432, database ``test``); they skip when it is unreachable, unless
``KEEL_TEST_REQUIRE_SERVICES=1`` (set by ``.ci/run``), when they fail instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from keel.config import Settings
from keel.store import TrackingStore, open_store

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REQUIRE_SERVICES = os.environ.get("KEEL_TEST_REQUIRE_SERVICES") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"keel server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"keel server at {url} did not become healthy in {timeout}s")


class ServerProcess:
    """A real `keel server` in a subprocess on a loopback port."""

    def __init__(
        self,
        backend: str,
        artifacts: Path,
        log: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.backend = backend
        self.extra_env = env or {}
        self.extra_args = args
        self.artifacts = artifacts
        self.log = log
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        env.update(self.extra_env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "keel", "server",
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--backend-store-uri", self.backend,
                    "--artifacts-uri", str(self.artifacts),
                    "--workers", str(self.workers), "--log-level", "warning",
                    *self.extra_args,
                ],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        try:
            wait_healthy(self.url, self.proc)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{self.log.read_text()[-3000:]}") from None
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _postgres_admin_url() -> str:
    return os.environ.get("KEEL_TEST_POSTGRES_URI") or DEFAULT_PG


def _postgres_reachable(url: str) -> str | None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    try:
        psycopg.connect(
            host=u.host, port=u.port or 5432, user=u.username, dbname=u.database,
            password=u.password, connect_timeout=3,
        ).close()  # fmt: skip
    except Exception as exc:
        return str(exc).strip().splitlines()[0]
    return None


@contextmanager
def temporary_database(url: str, prefix: str = "keel_test") -> Iterator[str]:
    """A new, empty database on the server ``url`` points at; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    params = dict(host=u.host, port=u.port or 5432, user=u.username, password=u.password)
    with psycopg.connect(dbname=u.database, autocommit=True, **params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dbname=u.database, autocommit=True, **params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped at the end of the session."""
    admin = _postgres_admin_url()
    problem = _postgres_reachable(admin)
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {admin} is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {admin}: {problem}")
    with temporary_database(admin) as url:
        yield url


def _truncate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE experiments, experiment_tags, runs, params, tags, metric_series, "
                "metric_points, artifacts, write_batches RESTART IDENTITY CASCADE"
            )
        )
    engine.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `keel server` over SQLite for the session; tests use fresh names."""
    root = tmp_path_factory.mktemp("server")
    proc = ServerProcess(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def settings_for(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", flush_interval=0.2, spool_dir=tmp_path / "spool")


@pytest.fixture(params=["sqlite", "postgres", "rest"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The tracking URI of each store implementation in turn."""
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'keel.db'}"
    if kind == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        open_store(url, Settings(home=tmp_path, artifacts_uri=str(tmp_path / "a"))).close()
        _truncate_postgres(url)
        return url
    srv: ServerProcess = request.getfixturevalue("server")
    return srv.url


@pytest.fixture
def store(store_uri: str, tmp_path: Path) -> Iterator[TrackingStore]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    s = open_store(store_uri, settings)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator[object]:
    from keel.client import Client

    settings = settings_for(tmp_path)
    settings = Settings(
        home=settings.home,
        flush_interval=settings.flush_interval,
        spool_dir=settings.spool_dir,
        artifacts_uri=str(tmp_path / "artifacts"),
    )
    c = Client(store_uri, settings=settings)
    try:
        yield c
    finally:
        c.close()


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"

"""Fixtures for the access suite: a real ``keel server`` whose users, tokens, projects
and grants were made with the ``keel`` CLI on its database before it started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import ServerProcess, wait_healthy
from keel.cli.main import build_app
from server.support import log_problems

runner = CliRunner()


def keel(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``keel ARGS`` in process (the real command line) and return its output; it
    must succeed."""
    group = args[0]
    result = runner.invoke(build_app(group), list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def keel_fails(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``keel ARGS`` as a user would (a process: errors become one line) and return
    its standard error; it must fail."""
    proc = subprocess.run(
        [sys.executable, "-m", "keel", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def create_user(db: str, name: str, *flags: str) -> str:
    """A user made with ``keel users create``; returns its first token."""
    found = json.loads(keel("users", "create", name, *flags, "--json", "-t", db))
    token: str = found["token"]["token"]
    return token


class AuthServer(ServerProcess):
    """A ``keel server`` with extra ``KEEL_*`` settings in its environment."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log")
        self.env = env or {}

    def start(self) -> AuthServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        env.update(self.env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "keel", "server",
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--backend-store-uri", self.backend,
                    "--artifacts-uri", str(self.artifacts),
                    "--log-level", "warning",
                ],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        try:
            wait_healthy(self.url, self.proc)
        except RuntimeError:
            self.stop()
            raise RuntimeError(self.log.read_text()[-3000:]) from None
        return self


@dataclass
class Team:
    """A server and the tokens of its principals, by name."""

    server: AuthServer
    db: str
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None, **headers: str) -> httpx.Client:
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.Client(base_url=self.server.url, timeout=30, headers=headers)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """root (admin); on ``default``: alice and bob maintainers, eddie editor, carol reader;
    on ``team-a``: erin maintainer; ci, a service account, editor on ``default``."""
    root = tmp_path_factory.mktemp("auth")
    server = AuthServer(root, env={"KEEL_RATE_LIMIT": "none"})
    db = server.backend
    found = Team(server, db)
    found.tokens["root"] = create_user(db, "root", "--admin")
    for name in ("Alice", "bob", "carol", "eddie", "erin"):
        found.tokens[name.lower()] = create_user(db, name)
    found.tokens["ci"] = create_user(db, "ci", "--service-account")
    keel("projects", "create", "team-a", "-t", db)
    for user, project, role in (
        ("alice", "default", "maintainer"),
        ("bob", "default", "maintainer"),
        ("carol", "default", "reader"),
        ("eddie", "default", "editor"),
        ("erin", "team-a", "maintainer"),
        ("ci", "default", "editor"),
    ):
        keel("projects", "grant", project, user, role, "-t", db)
    server.start()
    try:
        yield found
    finally:
        server.stop()
    assert log_problems(server.log) == []
    logged = server.log.read_text(errors="replace")
    assert not [who for who, token in found.tokens.items() if token in logged]  # never logged

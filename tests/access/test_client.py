"""The client side: ``Client(token=...)``, ``KEEL_TRACKING_TOKEN``, ``keel login`` and the
commands that go through the server with the saved token."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from access.conftest import Team, keel, runner
from conftest import ServerProcess
from keel import Client
from keel.cli.main import build_app
from keel.config import Settings
from keel.errors import Forbidden, Unauthenticated


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"KEEL_HOME": str(tmp_path / "home"), **env})


def test_the_client_sends_its_token_on_both_connection_paths(team: Team, tmp_path: Path) -> None:
    with Client(team.server.url, token=team.tokens["eddie"], settings=settings(tmp_path)) as c:
        exp = c.create_experiment("client-with-token")  # kept-alive http.client path
        run = c.create_run(exp)
        c.log_param(run.run_id, "lr", "0.1")
        c.log_text(run.run_id, "hello", "notes/hi.txt")  # upload: the httpx path
        c.flush()
        assert c.get_run(run.run_id).data.params == {"lr": "0.1"}
        assert [f.path for f in c.list_artifacts(run.run_id, "notes")] == ["notes/hi.txt"]
        assert c.registry.search_registered_models() is not None


def test_without_a_token_the_client_says_how_to_log_in(team: Team, tmp_path: Path) -> None:
    with Client(team.server.url, settings=settings(tmp_path)) as c:
        with pytest.raises(Unauthenticated, match="keel login") as caught:
            c.get_experiment_by_name("anything")
        assert "KEEL_TRACKING_TOKEN" in caught.value.message


def test_keel_tracking_token_is_read_through_settings(team: Team, tmp_path: Path) -> None:
    env = settings(tmp_path, KEEL_TRACKING_TOKEN=team.tokens["carol"])
    with Client(team.server.url, settings=env) as c:
        assert c.get_experiment_by_name(f"none-{os.getpid()}") is None  # a reader may read
        with pytest.raises(Forbidden, match="editor"):
            c.create_experiment("readers-cannot")


def test_keel_login_saves_the_token_privately_and_the_client_uses_it(
    team: Team, tmp_path: Path
) -> None:
    env = {"KEEL_HOME": str(tmp_path / "home")}
    app = build_app("login")
    bad = runner.invoke(app, ["login", team.server.url, "--token-stdin"], input="keel_x\n", env=env)
    assert bad.exit_code != 0
    assert not (tmp_path / "home" / "credentials.json").exists()  # refused: nothing saved

    result = runner.invoke(
        app, ["login", team.server.url, "--token-stdin"], input=team.tokens["alice"] + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "as 'alice'" in result.output and team.tokens["alice"] not in result.output
    saved = tmp_path / "home" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text()) == {team.server.url: team.tokens["alice"]}

    with Client(team.server.url, settings=Settings.from_env(env)) as c:
        assert c.create_experiment("made-after-login")
    # The token commands go through the server with it: alice's own tokens only.
    listed = json.loads(keel("tokens", "list", "--json", "-t", team.server.url, env=env))
    assert listed and {t["principal"] for t in listed} == {"alice"}
    assert all("token" not in t for t in listed)
    made = json.loads(
        keel("tokens", "create", "--name", "nb", "--json", "-t", team.server.url, env=env)
    )
    assert made["token"].startswith("keel_") and made["principal"] == "alice"
    keel("tokens", "revoke", made["token_id"], "-t", team.server.url, env=env)

    keel("login", team.server.url, "--forget", env=env)
    assert json.loads(saved.read_text()) == {}


def test_an_open_server_has_no_sign_up(server: ServerProcess) -> None:
    """No users yet (the quickstart's server): everything is open except managing users,
    which only the CLI on the server's database can start."""
    import httpx

    with httpx.Client(base_url=server.url) as api:
        r = api.post("/api/v1/users", json={"name": "mallory", "admin": True})
        assert r.status_code == 403, r.text
        assert "keel users create" in r.json()["error"]["message"]
        assert api.get("/api/v1/experiments").status_code == 200


def test_dataset_objects_travel_with_the_token(team: Team, tmp_path: Path) -> None:
    """``data.add`` through an authenticated server pushes the files it lacks, and another
    machine's ``data.get`` pulls them: both with the client's token. (Found seeding the
    API fuzzer: the dataset objects went through an HTTP session of their own, without
    the token, and every push was refused with 401.)"""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("x,y\n1,2\n")
    (src / "b.txt").write_text("hello")
    name = f"with-token-{os.getpid()}"
    with Client(team.server.url, token=team.tokens["eddie"], settings=settings(tmp_path)) as c:
        added = c.data.add(src, name=name)
        c.data.push([f"{name}@{added.version.version}"])
    other = tmp_path / "other"
    with Client(team.server.url, token=team.tokens["carol"], settings=settings(other)) as reader:
        reader.data.get(f"{name}@{added.version.version}", tmp_path / "out")
    assert (tmp_path / "out" / "b.txt").read_text() == "hello"

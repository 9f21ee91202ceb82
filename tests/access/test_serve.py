"""Deny by default at start-up: a server others can reach refuses to run without users,
unless told ``--insecure-no-auth``; the rate limit per token answers 429."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.conftest import AuthServer, create_user, keel_fails
from conftest import free_port
from keel.errors import InvalidArgument
from keel.server.serve import is_loopback, refuse_open_exposure
from server.support import API, assert_error


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("keel.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_rule() -> None:
    refuse_open_exposure("127.0.0.1", has_users=False, insecure_no_auth=False)
    refuse_open_exposure("0.0.0.0", has_users=True, insecure_no_auth=False)
    refuse_open_exposure("0.0.0.0", has_users=False, insecure_no_auth=True)
    with pytest.raises(InvalidArgument, match="no users"):
        refuse_open_exposure("0.0.0.0", has_users=False, insecure_no_auth=False)


def test_keel_server_on_all_interfaces_without_users_refuses_to_start(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keel.db'}"
    args = ("server", "--host", "0.0.0.0", "--port", str(free_port()), "--backend-store-uri", db)
    error = keel_fails(*args)
    assert "no users" in error and "keel users create" in error, error


def test_rate_limit_per_token_answers_429_with_retry_after(tmp_path: Path) -> None:
    server = AuthServer(tmp_path, env={"KEEL_RATE_LIMIT": "3/minute"})
    alice = create_user(server.backend, "alice", "--admin")
    bob = create_user(server.backend, "bob", "--admin")
    server.start()
    try:
        import httpx

        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {alice}"}) as a:
            for _ in range(3):
                assert a.get(f"{API}/whoami").status_code == 200
            r = a.get(f"{API}/whoami")
            assert_error(r, 429, "rate limit")
            assert r.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {bob}"}) as b:
            assert b.get(f"{API}/whoami").status_code == 200  # per token, not per server
    finally:
        server.stop()


def test_a_rate_limit_that_does_not_parse_stops_the_start(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keel.db'}"
    error = keel_fails(
        "server", "--port", str(free_port()), "--backend-store-uri", db,
        env={"KEEL_RATE_LIMIT": "lots"},
    )  # fmt: skip
    assert "KEEL_RATE_LIMIT 'lots'" in error, error

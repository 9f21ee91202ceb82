"""A model server whose store is a ``keel server`` with users: it asks that server,
with each caller's own token, whether the caller holds deployment:predict on the
model's project; it keeps the answers for KEEL_AUTH_CACHE_SECONDS, and when the server
does not answer for a token it has no fresh answer about, it refuses with 503.

The model is placed in project ``fraud``: a reader there may predict, a reader of the
default project only may not, and the model server's own token (an admin's) never
lends its rights to a caller."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from access.conftest import create_user, keel
from conftest import ServerProcess
from serving.support import ROW, ServeProcess, predict

CACHE_SECONDS = 4.0


@dataclass
class Setup:
    store: ServerProcess
    tokens: dict[str, str]
    root: Path

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def setup(model_store: dict[str, str], tmp_path: Path) -> Iterator[Setup]:
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    shutil.copy(db, tmp_path / "keel.db")  # users only here; the artifacts stay put
    uri = f"sqlite:///{tmp_path / 'keel.db'}"
    tokens = {"bot": create_user(uri, "serve-bot", "--admin")}
    for name in ("reader", "reader2", "default-reader", "stranger", "unseen"):
        tokens[name] = create_user(uri, name)
    keel("projects", "create", "fraud", "-t", uri)
    keel("projects", "move", "fraud", "--model", "iris", "-t", uri)
    for name in ("reader", "reader2"):
        keel("projects", "grant", "fraud", name, "reader", "-t", uri)
    keel("projects", "grant", "default", "default-reader", "reader", "-t", uri)
    store = ServerProcess(
        uri, db.parent / "artifacts", tmp_path / "store.log",
        env={"KEEL_AUTH_CACHE_SECONDS": "0.5"},
    ).start()  # fmt: skip
    try:
        yield Setup(store, tokens, tmp_path)
    finally:
        store.stop()


def test_the_keel_server_answers_whether_a_caller_may_predict(setup: Setup) -> None:
    url = f"{setup.store.url}/api/v1"
    r = httpx.get(f"{url}/registered-models/iris/access", headers=setup.bearer("reader"))
    assert r.status_code == 200, r.text
    assert r.json() == {"allowed": True, "permission": "deployment:predict",
                        "principal": "reader", "authenticated": True}  # fmt: skip
    r = httpx.get(f"{url}/registered-models/iris/access", headers=setup.bearer("default-reader"))
    assert r.status_code == 403 and "deployment:predict" in r.json()["error"]["message"]
    # A name that is no deployment is judged on the default project, then not found: a
    # caller without the role there is not told whether it exists.
    r = httpx.get(f"{url}/deployments/nope/access", headers=setup.bearer("default-reader"))
    assert r.status_code == 404 and "nope" in r.json()["error"]["message"]
    r = httpx.get(f"{url}/deployments/nope/access", headers=setup.bearer("reader"))
    assert r.status_code == 403
    r = httpx.get(f"{url}/registered-models/nope/access", headers=setup.bearer("reader"))
    assert r.status_code in (403, 404)
    assert httpx.get(f"{url}/deployments/nope/access").status_code == 401
    r = httpx.get(
        f"{url}/deployments/nope/access",
        params={"permission": "deployment:write"},
        headers=setup.bearer("default-reader"),
    )
    assert r.status_code == 400 and "deployment:predict only" in r.json()["error"]["message"]


@pytest.fixture
def served(setup: Setup) -> Iterator[ServeProcess]:
    env = {
        "KEEL_TRACKING_URI": setup.store.url,
        "KEEL_TRACKING_TOKEN": setup.tokens["bot"],
        "KEEL_HOME": str(setup.root / "home"),
        "KEEL_AUTH_CACHE_SECONDS": str(CACHE_SECONDS),
    }
    # 0.0.0.0 without --insecure-no-auth: the keel server has users, so tokens are checked.
    args = ("--host", "0.0.0.0", "--poll-interval", "0.5")
    with ServeProcess("models:/iris@champion", setup.root / "serve.log", env, *args) as server:
        yield server
    assert "Traceback" not in server.log.read_text()


def test_tokens_are_checked_by_the_keel_server(setup: Setup, served: ServeProcess) -> None:
    url = served.url
    r = predict(url)
    assert r.status_code == 401 and "token" in r.json()["error"]["message"]
    split = {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}}
    assert httpx.post(f"{url}/invocations", json=split).status_code == 401
    assert predict(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert predict(url, headers={"Authorization": "Basic eDp5"}).status_code == 401
    # The caller's token is asked about, not the model server's own (an admin's).
    for who in ("stranger", "default-reader"):
        r = predict(url, headers=setup.bearer(who))
        assert r.status_code == 403, r.text
        assert "deployment:predict" in r.json()["error"]["message"]
    r = predict(url, headers=setup.bearer("reader"))
    assert r.status_code == 200 and r.json()["predictions"] == [1]
    r = httpx.post(f"{url}/invocations", json=split, headers=setup.bearer("reader"))
    assert r.status_code == 200 and r.json() == {"predictions": [1]}
    ids = r.headers["x-keel-prediction-ids"].split(",")
    feedback = {"prediction_ids": ids, "labels": [1]}
    assert httpx.post(f"{url}/feedback", json=feedback).status_code == 401
    r = httpx.post(f"{url}/feedback", json=feedback, headers=setup.bearer("reader"))
    assert r.status_code == 202, r.text
    # Health, metadata and metrics stay open.
    for path in ("/v2/health/ready", "/metrics", "/metadata", "/ping"):
        assert httpx.get(f"{url}{path}").status_code == 200

    # A token revoked on the keel server is refused here once the cached answer is old.
    made = json.loads(keel("tokens", "list", "--json", "-t", setup.store.url,
                           env={"KEEL_TRACKING_TOKEN": setup.tokens["reader"]}))  # fmt: skip
    token_id = made[0]["token_id"] if isinstance(made, list) else made["tokens"][0]["token_id"]
    keel("tokens", "revoke", token_id, "-t", setup.store.url,
         env={"KEEL_TRACKING_TOKEN": setup.tokens["bot"]})  # fmt: skip
    revoked_at = time.monotonic()
    while predict(url, headers=setup.bearer("reader")).status_code == 200:
        assert time.monotonic() - revoked_at < CACHE_SECONDS + 5, "still accepted"
        time.sleep(0.2)
    r = predict(url, headers=setup.bearer("reader"))
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_answers_are_cached_and_an_unreachable_server_fails_closed(
    setup: Setup, served: ServeProcess
) -> None:
    url = served.url
    # Fresh answers, one yes and one no, then the keel server goes away.
    assert predict(url, headers=setup.bearer("reader2")).status_code == 200
    assert predict(url, headers=setup.bearer("stranger")).status_code == 403
    cached_at = time.monotonic()
    setup.store.kill()
    assert predict(url, headers=setup.bearer("reader2")).status_code == 200
    assert predict(url, headers=setup.bearer("stranger")).status_code == 403
    r = predict(url, headers=setup.bearer("unseen"))  # never asked about: cannot be checked
    assert r.status_code == 503, r.text
    message = r.json()["error"]["message"]
    assert "could not check the API token" in message and "keel server" in message
    assert time.monotonic() - cached_at < CACHE_SECONDS, "too slow to see the cache at work"
    # Once the answer is older than KEEL_AUTH_CACHE_SECONDS, the token is unchecked again.
    time.sleep(max(0.0, cached_at + CACHE_SECONDS + 0.5 - time.monotonic()))
    assert predict(url, headers=setup.bearer("reader2")).status_code == 503
    assert predict(url).status_code == 401  # no token is refused without asking anyone


def test_the_cache_of_answers_is_bounded(setup: Setup) -> None:
    from keel.errors import Forbidden
    from keel.serving.auth import ServerAuth
    from keel.store.rest.access import CallerAccess

    access = CallerAccess(setup.store.url, timeout=5)
    auth = ServerAuth(access, ("model", "iris"), ttl=60, max_cached=2)
    try:
        assert auth.refresh_enabled() is True
        auth.check(f"Bearer {setup.tokens['reader']}", blocking_ok=True)
        with pytest.raises(Forbidden):
            auth.check(f"Bearer {setup.tokens['stranger']}", blocking_ok=True)
        auth.check(f"Bearer {setup.tokens['reader2']}", blocking_ok=True)
        assert auth.cached_tokens == 2
        # The oldest answer went first: it needs the server again, the newest does not.
        auth.check(f"Bearer {setup.tokens['reader2']}", blocking_ok=False)
        with pytest.raises(LookupError):
            auth.check(f"Bearer {setup.tokens['reader']}", blocking_ok=False)
    finally:
        access.close()


def test_nothing_passes_unchecked_before_the_keel_server_has_answered() -> None:
    """Whether the keel server has users is unknown until it answers: until then a
    request is refused with 503, not let through as on an open server."""
    from conftest import free_port
    from keel.errors import StoreUnavailable
    from keel.serving.auth import ServerAuth
    from keel.store.rest.access import CallerAccess

    access = CallerAccess(f"http://127.0.0.1:{free_port()}", timeout=2)  # nobody there
    auth = ServerAuth(access, ("deployment", "fraud-api"), ttl=60)
    try:
        assert auth.enabled_now() is None
        with pytest.raises(StoreUnavailable, match="whether it has users"):
            auth.refresh_enabled()
        assert auth.enabled_now() is None
    finally:
        access.close()

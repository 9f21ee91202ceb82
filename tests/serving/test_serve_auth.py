"""A model server over a store with users: predictions and feedback need a token whose
principal holds deployment:predict (the reader role) on the model's project; health and
metrics stay open. Without users, a non-loopback address is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from access.conftest import create_user, keel, keel_fails
from conftest import free_port
from serving.support import ServeProcess, predict


def test_predictions_need_a_token_with_deployment_predict(
    model_store: dict[str, str], tmp_path: Path
) -> None:
    # A copy of the database (its artifacts stay where they are): users only here.
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    shutil.copy(db, tmp_path / "keel.db")
    uri = f"sqlite:///{tmp_path / 'keel.db'}"
    create_user(uri, "root", "--admin")
    reader = create_user(uri, "reader")
    stranger = create_user(uri, "stranger")
    keel("projects", "grant", "default", "reader", "reader", "-t", uri)
    env = {**model_store, "KEEL_TRACKING_URI": uri}
    with ServeProcess("models:/iris@champion", tmp_path / "serve.log", env) as server:
        r = predict(server.url)
        assert r.status_code == 401 and "token" in r.json()["error"]["message"]
        r = predict(server.url, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        r = predict(server.url, headers={"Authorization": f"Bearer {stranger}"})
        assert r.status_code == 403 and "deployment:predict" in r.json()["error"]["message"]
        r = predict(server.url, headers={"Authorization": f"Bearer {reader}"})
        assert r.status_code == 200, r.text
        ids = r.json()["ids"]
        feedback = {"prediction_ids": ids, "labels": [1]}
        assert httpx.post(f"{server.url}/feedback", json=feedback).status_code == 401
        r = httpx.post(
            f"{server.url}/feedback", json=feedback, headers={"Authorization": f"Bearer {reader}"}
        )
        assert r.status_code == 202, r.text
        assert httpx.get(f"{server.url}/metrics").status_code == 200
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200


def test_a_deployment_is_checked_on_its_own_project(
    model_store: dict[str, str], tmp_path: Path
) -> None:
    """``deployments:/NAME`` in project ``fraud``: a reader there may predict, a reader
    of the default project only may not."""
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    shutil.copy(db, tmp_path / "keel.db")
    uri = f"sqlite:///{tmp_path / 'keel.db'}"
    create_user(uri, "root", "--admin")
    reader, default_reader = create_user(uri, "reader"), create_user(uri, "default-reader")
    keel("projects", "create", "fraud", "-t", uri)
    keel("deployments", "create", "iris-fraud", "--model", "models:/iris@champion",
         "--project", "fraud", "-t", uri)  # fmt: skip
    keel("projects", "grant", "fraud", "reader", "reader", "-t", uri)
    keel("projects", "grant", "default", "default-reader", "reader", "-t", uri)
    env = {**model_store, "KEEL_TRACKING_URI": uri}
    with ServeProcess("deployments:/iris-fraud", tmp_path / "serve.log", env) as server:
        r = predict(server.url, headers={"Authorization": f"Bearer {reader}"})
        assert r.status_code == 200, r.text
        r = predict(server.url, headers={"Authorization": f"Bearer {default_reader}"})
        assert r.status_code == 403 and "deployment's project" in r.json()["error"]["message"]


def test_no_users_and_a_public_address_refuses_to_start(model_store: dict[str, str]) -> None:
    args = ("serve", "models:/iris@champion", "--host", "0.0.0.0", "--port", str(free_port()))
    error = keel_fails(*args, env=model_store)
    assert "no users" in error and "--insecure-no-auth" in error, error

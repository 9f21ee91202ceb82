"""Tracking, run-artifact and model URIs."""

from __future__ import annotations

import pytest

from keel.errors import InvalidArgument
from keel.uri import (
    ModelUri,
    StoreKind,
    parse_model_uri,
    parse_run_artifact_uri,
    resolve_tracking_uri,
    store_key,
)

RUN = "0123456789abcdef0123456789abcdef"


def test_a_store_has_one_key_however_its_uri_is_written(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"

    def key(uri: str, artifacts: str | None = None) -> str | None:
        return store_key(uri, artifacts_uri=artifacts, home=home)

    same = key(str(tmp_path))
    assert key(f"sqlite:///{tmp_path / 'keel.db'}") == same
    assert key("sqlite:///keel.db") == same  # relative to the working folder
    assert key(".") == same
    assert key(str(tmp_path / "other")) != same
    assert key(str(tmp_path), artifacts="/elsewhere") != same  # another remote
    assert key("sqlite:///~/k/keel.db") != key("~/k")  # SQLAlchemy does not expand ~
    assert key("http://h:5000/") == key("http://h:5000") != key("http://h:5001")
    secret = "postgresql+psycopg://u:hunter2@h/db"
    assert key("postgres://u:hunter2@h/db") == key(secret)
    assert "hunter2" not in key(secret)  # type: ignore[operator]
    assert key("sqlite:///:memory:") is None and key("sqlite://") is None


def test_tracking_uris(tmp_path) -> None:
    assert resolve_tracking_uri("http://h:5000/").uri == "http://h:5000"
    assert resolve_tracking_uri("http://h:5000").kind is StoreKind.REST
    folder = resolve_tracking_uri(str(tmp_path))
    assert folder.kind is StoreKind.SQL and folder.uri.endswith("/keel.db")
    assert folder.artifacts_uri == str(tmp_path.resolve() / "artifacts")
    assert resolve_tracking_uri("postgres://u@h/db").uri == "postgresql+psycopg://u@h/db"
    with pytest.raises(InvalidArgument, match="unknown scheme"):
        resolve_tracking_uri("ftp://x")
    with pytest.raises(InvalidArgument, match="empty"):
        resolve_tracking_uri("  ")


def test_model_uris() -> None:
    assert parse_model_uri("models:/fraud/3") == ModelUri("fraud", version=3)
    assert parse_model_uri("models:/fraud@champion") == ModelUri("fraud", alias="champion")
    assert str(ModelUri("fraud", alias="champion")) == "models:/fraud@champion"
    assert str(ModelUri("fraud", version=2)) == "models:/fraud/2"


@pytest.mark.parametrize(
    "bad",
    ["fraud/3", "models:/fraud", "models:/fraud/0", "models:/fraud/x", "models:/@a",
     "models:/f@", "models:/a/b/1", "models:/f@a/b"],
)  # fmt: skip
def test_bad_model_uris(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="model URI"):
        parse_model_uri(bad)


def test_run_artifact_uris() -> None:
    parsed = parse_run_artifact_uri(f"runs:/{RUN}/model")
    assert (parsed.run_id, parsed.path) == (RUN, "model")
    assert str(parsed) == f"runs:/{RUN}/model"


@pytest.mark.parametrize(
    "bad",
    [
        "file:///etc/passwd", "http://x/model", "s3://b/k", "model", "/abs/model",
        f"runs:/{RUN}/../other", f"runs:/{RUN}/a\\b", f"runs:/{RUN}/%2e%2e/x",
        f"runs:/{RUN}/%252e%252e%252fb", "runs:/short/model", f"runs:/{RUN.upper()}/m",
        f"runs:/{RUN}//etc", f"runs:/{RUN}/a\x00b",
    ],
)  # fmt: skip
def test_bad_sources_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="source"):
        parse_run_artifact_uri(bad)

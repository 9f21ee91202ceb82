"""Artifacts on S3, through an S3-compatible server (moto) started on a loopback port:
the artifact store directly, and a real `keel server` whose artifact root is a bucket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ServerProcess, settings_for, unique
from keel.artifacts.store import ArtifactStore
from keel.client import Client
from keel.errors import CorruptData, InvalidArgument


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="keel-test",
        AWS_SECRET_ACCESS_KEY="keel-test",
        AWS_DEFAULT_REGION="us-east-1",
        FSSPEC_S3_ENDPOINT_URL=endpoint,  # fsspec reads FSSPEC_<PROTOCOL>_<OPTION>
    )
    # fsspec reads FSSPEC_* variables when it is first imported; set its config too, in
    # case an earlier test imported it.
    import fsspec.config

    saved_conf = dict(fsspec.config.conf.get("s3", {}))
    fsspec.config.conf.setdefault("s3", {})["endpoint_url"] = endpoint
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="keel")
    try:
        yield endpoint
    finally:
        fsspec.config.conf["s3"] = saved_conf
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def test_store_round_trip_and_digest_check(s3_endpoint: str) -> None:
    import boto3

    store = ArtifactStore("s3://keel/direct")
    data = os.urandom(3 * 1024 * 1024 + 17)
    info = store.write_stream("model/weights.bin", [data[:1000], data[1000:]])
    assert info.file_size == len(data)
    assert b"".join(store.read_chunks("model/weights.bin", expected_digest=info.digest)) == data
    with pytest.raises(InvalidArgument):
        store.write_bytes("../escape.txt", b"x")

    # Changed in the bucket behind Keel's back: the read fails its digest check.
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.put_object(Bucket="keel", Key="direct/model/weights.bin", Body=b"tampered")
    with pytest.raises(CorruptData):
        b"".join(store.read_chunks("model/weights.bin", expected_digest=info.digest))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="keel")["Contents"]]
    assert not any("escape" in k or ".tmp-" in k for k in keys)


def test_server_with_a_bucket_as_artifact_root(s3_endpoint: str, tmp_path: Path) -> None:
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'keel.db'}", tmp_path / "unused", tmp_path / "server.log"
    )
    server.artifacts = "s3://keel/server"  # type: ignore[assignment]
    server.start()
    try:
        client = Client(server.url, settings=settings_for(tmp_path))
        run = client.create_run(client.create_experiment(unique()))
        assert run.info.artifact_uri.startswith("s3://keel/server/")
        folder = tmp_path / "out"
        folder.mkdir()
        (folder / "a.txt").write_text("alpha")
        (folder / "b.bin").write_bytes(os.urandom(200_000))
        client.log_artifacts(run.run_id, folder, "results")
        listed = {f.path for f in client.list_artifacts(run.run_id, "results")}
        assert listed == {"results/a.txt", "results/b.bin"}
        local = client.download_artifacts(run.run_id, "results", tmp_path / "dl")
        assert (local / "a.txt").read_text() == "alpha"
        assert (local / "b.bin").read_bytes() == (folder / "b.bin").read_bytes()
        client.close()
    finally:
        server.stop()


def test_dataset_push_and_pull_through_a_bucket(s3_endpoint: str, tmp_path: Path) -> None:
    from keel.config import Settings

    def machine(who: str) -> Client:
        settings = Settings(home=tmp_path / who, artifacts_uri="s3://keel/data-root", user=who)
        return Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=settings)

    ann, bob = machine("ann"), machine("bob")
    try:
        src = tmp_path / "src"
        (src / "sub").mkdir(parents=True)
        (src / "a.bin").write_bytes(os.urandom(300_000))
        (src / "sub" / "b.txt").write_text("bee")
        version = ann.data.add(src, name="bucketed").version
        assert ann.data.push([version]).objects == 2
        assert ann.data.push([version]).skipped == 2
        out = tmp_path / "out"
        bob.data.get("bucketed@1", out)
        assert (out / "a.bin").read_bytes() == (src / "a.bin").read_bytes()
        assert (out / "sub" / "b.txt").read_text() == "bee"
    finally:
        ann.close()
        bob.close()

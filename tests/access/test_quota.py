"""Per-project storage quotas: counted in the transaction that records each upload (on
SQLite and PostgreSQL), enforced on uploads through a real ``keel server`` (413 naming
the project, its quota and its use; nothing kept), set with ``keel projects quota``,
audited, and migrated in by 0008_project_quota."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from access.conftest import Team, keel
from access.test_service import Clock, access, backend, clock  # noqa: F401  (fixtures)
from conftest import temporary_database
from keel.access.service import AccessService
from keel.artifacts.hashing import hash_bytes
from keel.config import Settings
from keel.entities import FileInfo
from keel.entities.quota import parse_size
from keel.errors import InvalidArgument, PayloadTooLarge
from keel.store.sql.migrate import upgrade
from keel.store.sql.store import SqlTrackingStore
from server.support import API, assert_error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _used(service: AccessService, project: str) -> int:
    return service.get_project(project).used_bytes


def test_use_is_counted_as_records_are_written(access: AccessService, backend) -> None:  # noqa: F811
    access.create_project("fraud")
    store = backend.tracking
    run_id = store.create_run(store.create_experiment("e", project="fraud")).run_id
    store.record_artifacts(run_id, [FileInfo("a", False, 600, "0" * 64)])
    assert _used(access, "fraud") == 600
    assert _used(access, "default") == 0
    store.record_artifacts(run_id, [FileInfo("a", False, 100, "1" * 64)])  # replaced: -500
    assert _used(access, "fraud") == 100
    found = access.set_quota("fraud", "1KB")
    assert (found.quota_bytes, found.used_bytes) == (1000, 100)
    with pytest.raises(PayloadTooLarge) as refused:
        store.record_artifacts(
            run_id, [FileInfo("b", False, 500, "2" * 64), FileInfo("c", False, 401, "3" * 64)]
        )
    message = refused.value.message
    assert "'fraud'" in message and "1000 bytes" in message and "100 bytes" in message
    assert [f.path for f in store.list_artifacts(run_id)] == ["a"]  # nothing recorded
    assert _used(access, "fraud") == 100
    store.record_artifacts(run_id, [FileInfo("b", False, 900, "2" * 64)])  # exactly full
    assert _used(access, "fraud") == 1000
    store.record_artifacts(run_id, [FileInfo("b", False, 10, "2" * 64)])  # shrinking: fine
    assert access.set_quota("fraud", None).quota_bytes is None
    [*_, last] = backend.registry.list_audit("fraud", resource_type="project").records
    assert (last.action.value, last.before, last.after) == (
        "project.quota",
        {"quota_bytes": 1000},
        {"quota_bytes": None, "used_bytes": 110},
    )
    # a moved experiment takes its runs' bytes with it
    access.move("experiment", store.get_run(run_id).info.experiment_id, "default")
    assert (_used(access, "fraud"), _used(access, "default")) == (0, 110)
    [*_, moved] = backend.registry.list_audit("default", resource_type="project").records
    assert moved.after["bytes"] == 110


@pytest.mark.parametrize(
    ("given", "bytes_"), [("10GiB", 10 * 2**30), ("500 MB", 500 * 10**6), ("0", 0), (7, 7)]
)
def test_sizes_read_as_people_write_them(given: object, bytes_: int) -> None:
    assert parse_size(given) == bytes_


@pytest.mark.parametrize("bad", ["-1", "10 XB", "lots", True, 2**63])
def test_a_bad_size_names_the_field(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="quota"):
        parse_size(bad)


def test_migration_counts_what_is_stored(tmp_path: Path, postgres_url: str) -> None:
    check_migration(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)
    with temporary_database(postgres_url, "keel_quota_mig") as url:
        check_migration(url, tmp_path)


def check_migration(url: str, tmp_path: Path) -> None:
    engine = SqlTrackingStore(url, artifact_root=str(tmp_path)).engine
    upgrade(engine, "0006_audit", from_scratch=False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                "creation_time, last_update_time) VALUES ('old', '/a', 'active', 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO runs (run_uuid, experiment_id, name, status, start_time, "
                "lifecycle_stage, artifact_uri, user_id) SELECT 'r1', experiment_id, 'r', "
                "'FINISHED', 1, 'active', '/a/r1', 'u' FROM experiments"
            )
        )
        conn.execute(
            text(
                "INSERT INTO artifacts (run_uuid, path, size, digest, created) VALUES "
                "('r1', 'a', 300, :d, 1), ('r1', 'b', 45, :d, 1)"
            ),
            {"d": "0" * 64},
        )
    assert upgrade(engine) == "0006_audit"
    with engine.connect() as conn:
        found = conn.execute(text("SELECT name, used_bytes, quota_bytes FROM projects")).all()
    assert found == [("default", 345, None)]
    upgrade(engine, "0006_audit", from_scratch=False)  # and back down
    engine.dispose()


def _quota_project(team: Team, quota: str, tmp_path: Path) -> str:
    """A new project with erin as editor (made through the server, whose caches then
    forget erin's roles), its quota set with ``keel projects quota`` against the server."""
    project = unique("q")
    with team.client("root") as root:
        assert root.post(f"{API}/projects", json={"name": project}).status_code == 201
        r = root.put(f"{API}/projects/{project}/grants/erin", json={"role": "editor"})
        assert r.status_code == 200, r.text
    env = {"KEEL_TRACKING_TOKEN": team.tokens["root"], "KEEL_HOME": str(tmp_path / "cli")}
    out = keel("projects", "quota", project, quota, "-t", team.server.url, env=env)
    assert f"project {project!r}: quota" in out
    return project


def test_artifact_uploads_past_the_quota_are_refused(team: Team, tmp_path: Path) -> None:
    project = _quota_project(team, "1000", tmp_path)
    with team.client("erin") as erin, team.client("root") as root:
        exp = erin.post(f"{API}/experiments", json={"name": unique("e"), "project": project})
        run = erin.post(f"{API}/runs", json={"experiment_id": exp.json()["experiment_id"]})
        run_id = run.json()["info"]["run_id"]
        url = f"{API}/runs/{run_id}/artifacts/content"
        assert erin.put(url, params={"path": "a"}, content=b"x" * 600).status_code == 201
        message = assert_error(erin.put(url, params={"path": "b"}, content=b"y" * 600), 413)
        assert project in message and "1000 bytes" in message and "600 bytes" in message
        # chunked, no Content-Length: cut off as it streams
        chunks = (b"z" * 100 for _ in range(50))
        assert_error(erin.put(url, params={"path": "c"}, content=chunks), 413, project)
        listed = erin.get(f"{API}/runs/{run_id}/artifacts").json()["files"]
        assert [f["path"] for f in listed] == ["a"]  # nothing kept
        # replacing a file counts the difference
        assert erin.put(url, params={"path": "a"}, content=b"x" * 990).status_code == 201
        projects = root.get(f"{API}/projects").json()["projects"]
        [mine] = [p for p in projects if p["name"] == project]
        assert (mine["used_bytes"], mine["quota_bytes"]) == (990, 1000)
        # an admin lifts it through the API
        r = root.put(f"{API}/projects/{project}/quota", json={"quota_bytes": None})
        assert r.status_code == 200 and r.json()["quota_bytes"] is None
        assert erin.put(url, params={"path": "b"}, content=b"y" * 600).status_code == 201
        r = erin.put(f"{API}/projects/{project}/quota", json={"quota_bytes": None})
        assert_error(r, 403, "admin")
        audit = root.get(f"{API}/audit", params={"resource_type": "project", "name": project})
        actions = [(r["action"], r["actor"]) for r in audit.json()["records"]]
        assert ("project.quota", "root") in actions


def test_dataset_objects_count_against_the_datasets_project(team: Team, tmp_path: Path) -> None:
    from keel import Client

    project = _quota_project(team, "1KiB", tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(uuid.uuid4().bytes * 40)  # 640 bytes
    name = unique("ds")
    settings = Settings(home=tmp_path / "home")
    with Client(team.server.url, token=team.tokens["erin"], settings=settings) as erin:
        assert erin.data.add(src, name=name, project=project).created
        (src / "b.bin").write_bytes(uuid.uuid4().bytes * 40)
        with pytest.raises(PayloadTooLarge, match=project):
            erin.data.add(src, name=name)
        assert [v.version for v in erin.data.store.list_dataset_versions(name)] == [1]
    content = uuid.uuid4().bytes * 40
    digest = hash_bytes(content)
    with team.client("erin") as api, team.client("alice") as alice:
        url = f"{API}/dataset-objects/{digest}"
        assert_error(api.put(url, params={"project": project}, content=content), 413, project)
        assert api.get(url).status_code == 404  # nothing kept
        # naming a project means writing to it: alice has no role on it
        assert_error(alice.put(url, params={"project": project}, content=content), 403)
    keel("projects", "quota", project, "none", "-t", team.db)
    projects = json.loads(keel("projects", "list", "--json", "-t", team.db))["projects"]
    [mine] = [p for p in projects if p["name"] == project]
    assert mine["used_bytes"] == 640 and mine["quota_bytes"] is None

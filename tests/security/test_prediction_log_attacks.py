"""Attacks on the prediction log's routes of a real ``keel server`` (``/api/v1/predictions``):
bodies that are not Parquet, Parquet with wrong, extra or hostile columns, rows of another
deployment or hour, files that unpack to far more than they weigh, names and deployments
that try to leave their folder, reads out of range, and reads and lineage by callers
without the role. After each attack the artifact tree holds only what the good uploads
put there, and canary files beside and above the artifact root are unchanged.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from access.conftest import Team, team  # noqa: F401 - the module's fixture
from conftest import ServerProcess
from keel.predictions.checks import MAX_LOG_FILE_ROWS
from keel.predictions.tables import parquet_bytes, prediction_tables
from predictions.support import HOUR, T0, batch
from server.support import API, assert_error, log_problems

CANARY = b"canary: must never change\n"
NAME = "0123456789ab-000001"
PARQUET = {"Content-Type": "application/vnd.apache.parquet"}


class Site:
    """A server of this module's own, with canaries beside and above its artifact root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = ServerProcess(
            f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log"
        )
        self.canaries = [root / "canary.txt", root.parent / f"{root.name}-canary.txt"]
        for canary in self.canaries:
            canary.write_bytes(CANARY)

    def files(self) -> list[str]:
        """Every file under the artifact root, relative to it."""
        base = self.server.artifacts
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())

    def assert_untouched(self, before: list[str]) -> None:
        assert self.files() == before
        for canary in self.canaries:
            assert canary.read_bytes() == CANARY, canary
        here = sorted(p.name for p in self.root.iterdir() if not p.name.startswith("keel.db"))
        assert here == ["artifacts", "canary.txt", "server.log"], here
        beside = sorted(p.name for p in self.root.parent.iterdir() if self.root.name in p.name)
        assert beside == [self.root.name, f"{self.root.name}-canary.txt"], beside


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("predattacks"))
    s.server.start()
    try:
        # One good file first, so the artifact tree is not empty and reads have rows.
        answer = httpx.put(
            f"{s.server.url}{API}/predictions/deployments/victim/files/{NAME}",
            content=good_file("victim"),
            headers=PARQUET,
        )
        assert answer.status_code == 201, answer.text
        yield s
    finally:
        s.server.stop()
        assert log_problems(s.server.log) == []


def good_table(deployment: str = "victim", time_ms: int = T0 + 1000) -> pa.Table:
    return prediction_tables([batch(4, deployment=deployment, time_ms=time_ms)])[0]


def good_file(deployment: str = "victim") -> bytes:
    return parquet_bytes(good_table(deployment))


def put(site: Site, body: bytes, deployment: str = "victim", kind: str = "files") -> httpx.Response:
    url = f"{site.server.url}{API}/predictions/deployments/{deployment}/{kind}/{NAME}"
    return httpx.put(url, content=body, headers=PARQUET, timeout=60)


def raw_put(site: Site, path: str, body: bytes) -> int:
    """PUT with the path sent byte for byte (httpx would tidy ``..`` away)."""
    conn = http.client.HTTPConnection("127.0.0.1", site.server.port, timeout=60)
    try:
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        conn.putheader("Content-Type", PARQUET["Content-Type"])
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        return conn.getresponse().status
    finally:
        conn.close()


def with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(name)
    if index < 0:
        return table.append_column(name, values)
    return table.set_column(index, name, values)


# -- bodies that are not a log file ---------------------------------------------------------

NOT_PARQUET = {
    "empty": b"",
    "json": b'{"prediction_id": "00000000000000000000000000000000"}',
    "text": b"prediction_id,time\n0,1\n",
    "magic only": b"PAR1PAR1",
    "magic and a lying footer": b"PAR1" + b"\xff" * 64 + (10**6).to_bytes(4, "little") + b"PAR1",
    "zip": b"PK\x03\x04" + b"\x00" * 60,
    "arrow ipc": b"ARROW1\x00\x00" + b"\x00" * 32,
}


@pytest.mark.parametrize("what", sorted(NOT_PARQUET))
def test_a_body_that_is_not_parquet_is_refused(site: Site, what: str) -> None:
    before = site.files()
    for kind in ("files", "feedback"):
        assert_error(put(site, NOT_PARQUET[what], kind=kind), 400, "not a readable Parquet file")
    site.assert_untouched(before)


def test_a_truncated_file_is_refused(site: Site) -> None:
    before = site.files()
    data = good_file()
    for cut in (8, len(data) // 2, len(data) - 9):
        assert_error(put(site, data[:cut]), 400, "Parquet")
    site.assert_untouched(before)


# -- wrong, extra and hostile columns --------------------------------------------------------


def _hostile_tables() -> dict[str, tuple[pa.Table, str]]:
    good = good_table()
    n = good.num_rows
    deep: pa.DataType = pa.int64()
    value: object = 1
    for _ in range(12):
        deep, value = pa.list_(deep), [value]
    return {
        "no columns of the log": (pa.table({"x": [1, 2]}), "needs the columns"),
        "model_version as text": (
            with_column(good, "model_version", pa.array(["1"] * n)),
            "model_version: has type string",
        ),
        "time as text": (with_column(good, "time", pa.array(["2026"] * n)), "time: has type"),
        "deployment as numbers": (
            with_column(good, "deployment", pa.array([1] * n)),
            "deployment: has type",
        ),
        "a path as a column": (
            with_column(good, "../../escape", pa.array([1] * n)),
            "columns not in a predictions file",
        ),
        "a column named with NUL": (
            with_column(good, "x\x00y", pa.array([1] * n)),
            "columns not in a predictions file",
        ),
        "a name 10,000 long": (
            with_column(good, "input." + "a" * 10_000, pa.array([1] * n)),
            "at most 1024 characters",
        ),
        "a type nested 12 deep": (
            with_column(good, "input.deep", pa.array([value] * n, deep)),
            "nests deeper than 8",
        ),
        "a malformed id": (
            with_column(good, "prediction_id", pa.array(["../../" + "0" * 26] * n)),
            "32 lowercase hex",
        ),
        "a null id": (
            with_column(good, "prediction_id", pa.array([None] * n, pa.string())),
            "32 lowercase hex",
        ),
        "a null time": (
            with_column(good, "time", pa.array([None] * n, pa.timestamp("ms", "UTC"))),
            "every row must have one",
        ),
        "a time finer than a millisecond": (
            with_column(good, "time", pa.array([T0 * 10**6 + 1] * n, pa.timestamp("ns", "UTC"))),
            "whole millisecond",
        ),
        "a time after the year 9999": (
            with_column(good, "time", pa.array([10**15] * n, pa.timestamp("ms", "UTC"))),
            "between the years 1970 and 9999",
        ),
        "a time before 1970": (
            with_column(good, "time", pa.array([-(10**12)] * n, pa.timestamp("ms", "UTC"))),
            "between the years 1970 and 9999",
        ),
        "no rows": (good.slice(0, 0), "has no rows"),
    }


@pytest.mark.parametrize("what", sorted(_hostile_tables()))
def test_wrong_extra_and_hostile_columns_are_refused(site: Site, what: str) -> None:
    table, message = _hostile_tables()[what]
    before = site.files()
    assert_error(put(site, parquet_bytes(table)), 400, message)
    site.assert_untouched(before)


def test_a_twice_named_column_is_refused(site: Site) -> None:
    good = good_table()
    twice = pa.Table.from_arrays(
        [*good.columns, good.column("latency_ms")], names=[*good.column_names, "latency_ms"]
    )
    before = site.files()
    assert_error(put(site, parquet_bytes(twice)), 400, "appears twice")
    site.assert_untouched(before)


def test_feedback_with_a_nested_or_binary_label_is_refused(site: Site) -> None:
    rows = {
        "prediction_id": ["0" * 32],
        "time": pa.array([T0], pa.timestamp("ms", "UTC")),
        "deployment": ["victim"],
    }
    before = site.files()
    for label in (pa.array([[1.0]]), pa.array([b"\x00"], pa.binary())):
        body = parquet_bytes(pa.table({**rows, "label": label}))
        assert_error(put(site, body, kind="feedback"), 400, "label")
    extra = parquet_bytes(pa.table({**rows, "label": [1.0], "input.x": [1]}))
    assert_error(put(site, extra, kind="feedback"), 400, "columns not in a feedback file")
    site.assert_untouched(before)


# -- rows of another deployment or hour ------------------------------------------------------


def test_rows_of_another_deployment_or_of_two_hours_are_refused(site: Site) -> None:
    before = site.files()
    assert_error(put(site, good_file("intruder")), 400, "every row must name 'victim'")
    mixed = pa.concat_tables([good_table(), good_table("intruder")])
    assert_error(put(site, parquet_bytes(mixed)), 400, "every row must name 'victim'")
    nulls = with_column(good_table(), "deployment", pa.array([None] * 4, pa.string()))
    assert_error(put(site, parquet_bytes(nulls)), 400, "every row must name 'victim'")
    hours = pa.concat_tables([good_table(), good_table(time_ms=T0 + HOUR)])
    assert_error(put(site, parquet_bytes(hours)), 400, "same UTC hour")
    site.assert_untouched(before)


# -- files that unpack to far more than they weigh -------------------------------------------


def test_a_file_declaring_more_rows_than_allowed_is_refused_before_it_is_read(
    site: Site,
) -> None:
    rows = MAX_LOG_FILE_ROWS + 1
    sink = io.BytesIO()
    # One byte a row, all alike: a few kilobytes on the wire.
    pq.write_table(pa.table({"x": np.zeros(rows, dtype=np.int8)}), sink, compression="zstd")
    body = sink.getvalue()
    assert len(body) < 200_000
    before = site.files()
    assert_error(put(site, body), 400, f"at most {MAX_LOG_FILE_ROWS} rows")
    site.assert_untouched(before)


# -- names that try to leave their folder ----------------------------------------------------

FILE_NAMES = [
    "..",
    "%2e%2e",
    "%2E%2E%2F%2E%2E%2Fescape",
    "..%2F..%2F..%2Fescape",
    "..%5C..%5Cescape",
    "%2Fetc%2Fpasswd",
    "0123456789ab-000001%00",
    "0123456789ab-000001%2500",
    "0123456789ab-000001.parquet",
    "0123456789AB-000001",
    "0123456789ab-00001",
    "0123456789ab-0000001234567",
    "0123456789ab-000001%0A",
    "%C0%AE%C0%AE",
    "0123456789ab%2D000001%2F..",
]
DEPLOYMENTS = [
    "..",
    "%2e%2e",
    "..%2F..%2Fescape",
    "..%5Cescape",
    "%2Ftmp",
    "Victim",
    "vic_tim",
    "-victim",
    "victim-",
    "vic.tim",
    "v%C3%A9ctim",
    "victim%00",
    "a" * 64,
    "%20victim",
]


@pytest.mark.parametrize("kind", ["files", "feedback"])
def test_file_names_that_leave_their_folder_are_refused(site: Site, kind: str) -> None:
    before = site.files()
    body = good_file()
    for name in FILE_NAMES:
        status = raw_put(site, f"{API}/predictions/deployments/victim/{kind}/{name}", body)
        assert 400 <= status < 500, (name, status)
    for raw in ("../../escape", "/etc/passwd", "a/../../b", "..\\..\\escape"):
        status = raw_put(site, f"{API}/predictions/deployments/victim/{kind}/{raw}", body)
        assert 400 <= status < 500, (raw, status)
    site.assert_untouched(before)


@pytest.mark.parametrize("kind", ["files", "feedback"])
def test_deployments_that_are_not_dns_labels_are_refused(site: Site, kind: str) -> None:
    before = site.files()
    for deployment in DEPLOYMENTS:
        status = raw_put(site, f"{API}/predictions/deployments/{deployment}/{kind}/{NAME}", b"x")
        assert 400 <= status < 500, (deployment, status)
        read = httpx.get(f"{site.server.url}{API}/predictions/deployments/{deployment}/rows")
        assert 400 <= read.status_code < 500, (deployment, read.status_code)
    for deployment in ("Victim", "vic_tim", "-victim", "a" * 64):
        assert_error(put(site, good_file(), deployment=deployment), 400, "Kubernetes name")
    site.assert_untouched(before)


# -- reads out of range ----------------------------------------------------------------------

OUT_OF_RANGE = [
    {"offset": -1},
    {"offset": 2**63},
    {"offset": 10**30},
    {"offset": "x"},
    {"limit": 0},
    {"limit": -5},
    {"limit": 200_001},
    {"limit": 2**64},
    {"since_ms": -1},
    {"since_ms": 10**30},
    {"until_ms": 2**63},
    {"since_ms": 10, "until_ms": 5},
    {"model_version": 0},
    {"model_version": 2**31},
    {"kind": "../predictions"},
    {"kind": "predictions/../../x"},
    {"prediction_id": "*"},
    {"prediction_id": "0" * 31 + "G"},
]


@pytest.mark.parametrize("params", OUT_OF_RANGE, ids=str)
def test_reads_out_of_range_are_refused_not_a_500(site: Site, params: dict[str, object]) -> None:
    answer = httpx.get(f"{site.server.url}{API}/predictions/deployments/victim/rows", params=params)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"] == "invalid_argument"


def test_reads_at_the_edges_of_the_range_answer_pages(site: Site) -> None:
    import polars as pl

    url = f"{site.server.url}{API}/predictions/deployments/victim/rows"
    far = httpx.get(url, params={"offset": 2**62, "since_ms": 0, "until_ms": 2**62})
    assert far.status_code == 200, far.text
    assert pl.read_ipc_stream(far.content).height == 0
    one = httpx.get(url, params={"limit": 1, "model_version": 3})
    assert one.status_code == 200 and one.headers["x-keel-next-offset"] == "1"
    for bad in ("../" * 10, "0" * 31, "%2e%2e", "0" * 32 + "%00"):
        answer = httpx.get(f"{site.server.url}{API}/predictions/{bad}")
        assert 400 <= answer.status_code < 500, (bad, answer.status_code)


# -- reading and lineage without the role ----------------------------------------------------


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _model_in_team_a(team: Team) -> str:  # noqa: F811 - the fixture's value
    """A registered model with one version, made by erin in ``team-a``."""
    from registry.support import MANIFEST

    name = _unique("m")
    with team.client("erin") as erin:
        r = erin.post(f"{API}/experiments", json={"name": _unique("exp"), "project": "team-a"})
        assert r.status_code == 201, r.text
        r = erin.post(
            f"{API}/runs", json={"experiment_id": r.json()["experiment_id"], "run_name": "r"}
        )
        assert r.status_code == 201, r.text
        run_id = r.json()["info"]["run_id"]
        r = erin.put(
            f"{API}/runs/{run_id}/artifacts/content",
            params={"path": "model/keel-model.json"},
            content=MANIFEST,
        )
        assert r.status_code == 201, r.text
        body = {"source": f"runs:/{run_id}/model", "create_model": True, "project": "team-a"}
        r = erin.post(f"{API}/registered-models/{name}/versions", json=body)
        assert r.status_code == 201, r.text
    return name


def test_reads_and_lineage_need_the_role_on_what_they_show(team: Team) -> None:  # noqa: F811
    model = _model_in_team_a(team)
    made = dataclasses.replace(batch(3, deployment="watched"), model_name=model, model_version=1)
    body = parquet_bytes(prediction_tables([made])[0])
    pid = made.ids[0]
    files = f"{API}/predictions/deployments/watched/files/{NAME}"
    rows = f"{API}/predictions/deployments/watched/rows"
    with team.client("root") as root:
        assert root.put(files, content=body, headers=PARQUET).status_code == 201
        lineage = root.get(f"{API}/predictions/{pid}/lineage")
        assert lineage.status_code == 200, lineage.text
        assert lineage.json()["model_version"]["name"] == model
    # carol reads deployments of the default project, not the model in team-a it leads to.
    with team.client("carol") as carol:
        assert carol.get(rows).status_code == 200
        assert carol.get(f"{API}/predictions/{pid}").status_code == 200
        assert_error(carol.get(f"{API}/predictions/{pid}/lineage"), 403, "team-a")
    # erin holds team-a only: the deployment's rows, its files and its lineage are not hers.
    with team.client("erin") as erin:
        assert_error(erin.get(rows), 403, "default")
        assert_error(erin.get(f"{API}/predictions/{pid}"), 403, "default")
        assert_error(erin.get(f"{API}/predictions/{pid}/lineage"), 403, "default")
        assert_error(erin.put(files, content=body, headers=PARQUET), 403, "default")
    # Without a token: nothing at all.
    with team.client(None) as anonymous:
        for path in (rows, f"{API}/predictions/{pid}", f"{API}/predictions/{pid}/lineage"):
            assert anonymous.get(path).status_code == 401
        assert anonymous.put(files, content=body, headers=PARQUET).status_code == 401


def test_a_deployment_of_another_project_is_read_only_by_its_project(
    team: Team,  # noqa: F811
) -> None:
    """erin's deployment lives in team-a: its log is hers to read and write; carol, a reader
    of the default project, gets nothing of it, by deployment or by prediction id."""
    model = _model_in_team_a(team)
    deployment = _unique("team-a-api")
    target = {"targets": [{"model_uri": f"models:/{model}/1"}]}
    made = dataclasses.replace(batch(3, deployment=deployment), model_name=model, model_version=1)
    body = parquet_bytes(prediction_tables([made])[0])
    pid = made.ids[0]
    files = f"{API}/predictions/deployments/{deployment}/files/{NAME}"
    rows = f"{API}/predictions/deployments/{deployment}/rows"
    with team.client("erin") as erin:
        created = erin.post(
            f"{API}/deployments", json={"name": deployment, "policy": target, "project": "team-a"}
        )
        assert created.status_code == 201, created.text
        assert erin.put(files, content=body, headers=PARQUET).status_code == 201
        assert erin.get(rows).status_code == 200
        assert erin.get(f"{API}/predictions/{pid}").status_code == 200
        assert erin.get(f"{API}/predictions/{pid}/lineage").status_code == 200
    with team.client("carol") as carol:
        assert_error(carol.get(rows), 403, "team-a")
        assert_error(carol.get(f"{API}/predictions/{pid}"), 403, "team-a")
        assert_error(carol.get(f"{API}/predictions/{pid}/lineage"), 403, "team-a")
        assert_error(carol.put(files, content=body, headers=PARQUET), 403, "team-a")

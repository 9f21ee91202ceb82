"""Attacks on monitors through a real ``keel server``: webhook and Slack URLs that point at
the server's own network in every spelling (loopback, link-local metadata, IPv6, mapped
IPv4, decimal, octal and hex forms, a name that resolves to loopback, user-info tricks),
a redirect from an allowed receiver to a private address, ``file:`` references that try
to read the server's other files, hostile names and rule conditions. A loopback receiver
that is not allowed must never get a request; an allowed one proves delivery works at
all. The webhook secret never comes back from a route, the CLI, the server's log or the
audit log; monitor create/delete and alerts firing/resolving are audited.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from access.conftest import Team, team  # noqa: F401 - the module's fixture
from conftest import ServerProcess
from keel.cli.main import build_app
from keel.predictions.ids import new_prediction_ids
from keel.predictions.records import PredictionBatch
from keel.predictions.tables import parquet_bytes, prediction_tables
from server.support import API, assert_error, log_problems

SECRET = "s3cr3t-" + "k" * 24 + "-never-shown"
DEPLOYMENT = "watched"
CANARY = b"canary: must never change\n"


class Receiver:
    """A real HTTP server on a loopback address that records what it was sent; it answers
    ``status``, with ``Location`` when given."""

    def __init__(self, host: str, status: int = 200, location: str | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.references = self.home / "references"
        self.references.mkdir(parents=True)
        self.server = ServerProcess(
            f"sqlite:///{root / 'keel.db'}",
            root / "artifacts",
            root / "server.log",
            env={
                "KEEL_HOME": str(self.home),
                # Any host by name: the address checks alone must stop what follows.
                "KEEL_ALERT_ALLOWED_HOSTS": "*",
                "KEEL_ALERT_ALLOWED_NETWORKS": "127.0.0.2/32",  # the allowed receiver only
                "KEEL_MONITOR_TICK_SECONDS": "3600",  # runs on demand in these tests
            },
        )
        self.victim = Receiver("127.0.0.1")  # nothing may ever reach it
        self.allowed = Receiver("127.0.0.2")
        self.redirector = Receiver(
            "127.0.0.2", status=302, location=f"http://127.0.0.1:{self.victim.port}/stolen"
        )
        self.canary = root.parent / f"{root.name}-canary.parquet"

    def close(self) -> None:
        for r in (self.victim, self.allowed, self.redirector):
            r.close()


def _deploy(url: str) -> None:
    """The deployment monitors watch: a registered model's version behind it."""
    from registry.support import MANIFEST

    with httpx.Client(base_url=f"{url}{API}", timeout=60) as api:
        r = api.post("/experiments", json={"name": "monitored"})
        assert r.status_code == 201, r.text
        r = api.post("/runs", json={"experiment_id": r.json()["experiment_id"], "run_name": "r"})
        run_id = r.json()["info"]["run_id"]
        r = api.put(
            f"/runs/{run_id}/artifacts/content",
            params={"path": "model/keel-model.json"},
            content=MANIFEST,
        )
        assert r.status_code == 201, r.text
        body = {"source": f"runs:/{run_id}/model", "create_model": True}
        assert api.post("/registered-models/fraud/versions", json=body).status_code == 201
        body = {"name": DEPLOYMENT, "policy": {"targets": [{"model_uri": "models:/fraud/1"}]}}
        r = api.post("/deployments", json=body)
        assert r.status_code == 201, r.text


def _write_log(url: str) -> tuple[tuple[int, int], list[str]]:
    """A calm hour long ago and a drifted window now: the reference window's bounds and
    the ids of the predictions in the current window."""
    now = int(time.time() * 1000)
    rng = np.random.default_rng(7)
    reference_at = now - 3 * 3_600_000
    windows = (
        ("0123456789ab-000001", reference_at, 0.0),
        ("0123456789ab-000002", now - 60_000, 50.0),
    )
    for name, at, shift in windows:
        amounts = rng.normal(100 + shift, 5, 300)
        made = PredictionBatch(
            deployment=DEPLOYMENT,
            model_name="fraud",
            model_version=1,
            ids=new_prediction_ids(300, now_ms=at),
            inputs={"amount": amounts},
            predictions=(amounts > 120).astype(np.int64),
            time_ms=at,
            latency_ms=1.0,
        )
        current = list(made.ids)
        body = parquet_bytes(prediction_tables([made])[0])
        r = httpx.put(f"{url}{API}/predictions/deployments/{DEPLOYMENT}/files/{name}", content=body)
        assert r.status_code == 201, r.text
    start = reference_at - reference_at % 3_600_000
    return (start, start + 3_600_000), current


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("monattacks"))
    s.canary.write_bytes(CANARY)
    s.server.start()
    try:
        _deploy(s.server.url)
        s.window, s.current_ids = _write_log(s.server.url)  # type: ignore[attr-defined]
        yield s
    finally:
        s.server.stop()
        s.close()
        assert s.canary.read_bytes() == CANARY
        assert log_problems(s.server.log) == []
        assert SECRET not in s.server.log.read_text(errors="replace")


@pytest.fixture
def api(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{site.server.url}{API}", timeout=60) as client:
        yield client


_count = iter(range(10_000))


def monitor_body(site: Site, channels: list[dict[str, str]], **extra: object) -> dict[str, object]:
    start, end = site.window  # type: ignore[attr-defined]
    return {
        "name": f"m{next(_count)}",
        "deployment": DEPLOYMENT,
        "reference": f"window:{start}/{end}",
        "every": "1h",
        "rules": [{"name": "drift", "condition": "dataset.drifted"}],
        "channels": channels,
        **extra,
    }


def webhook(url: str) -> dict[str, str]:
    return {"kind": "webhook", "url": url, "secret": SECRET}


def fire(api: httpx.Client, body: dict[str, object]) -> tuple[httpx.Response, dict | None]:
    """Create the monitor; when the server takes it, run it (its window has drifted, so
    the rule fires and the channels are called) and return the run and its alert."""
    created = api.post("/monitors", json=body)
    if created.status_code != 201:
        return created, None
    run = api.post(f"/monitors/{body['name']}/run")
    assert run.status_code == 200, run.text
    assert [n["status"] for n in run.json()["notifications"]] == ["firing"]
    (alert,) = api.get("/alerts", params={"monitor": body["name"]}).json()["alerts"]
    return run, alert


def test_delivery_to_an_allowed_receiver_works(site: Site, api: httpx.Client) -> None:
    """The control: the same path does deliver when the address is allowed."""
    before = len(site.allowed.requests)
    run, alert = fire(
        api, monitor_body(site, [webhook(f"http://127.0.0.2:{site.allowed.port}/ok")])
    )
    assert run.json()["delivery_errors"] == [] and alert is not None
    assert len(site.allowed.requests) == before + 1
    assert site.victim.requests == []


def _private_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://127.1:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://[::ffff:7f00:1]:{port}/hook",
        f"http://0.0.0.0:{port}/hook",
        f"http://2130706433:{port}/hook",
        f"http://0177.0.0.1:{port}/hook",
        f"http://0x7f.1:{port}/hook",
        f"http://0x7f000001:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://LOCALHOST.:{port}/hook",
        f"http://127.0.0.1.nip.io.invalid:{port}/hook",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fe80::1%25lo]/hook",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://192.168.0.1/hook",
        "http://100.64.0.1/hook",
    ]


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_private_addresses_in_every_spelling_are_never_called(
    site: Site, api: httpx.Client, kind: str
) -> None:
    for url in _private_urls(site.victim.port):
        channel = webhook(url) if kind == "webhook" else {"kind": "slack", "url": url}
        answer, alert = fire(api, monitor_body(site, [channel]))
        if alert is None:  # refused when created
            assert answer.status_code in (400, 403), (url, answer.text)
            continue
        assert alert["status"] == "firing"
        assert alert["last_error"], (url, alert)
    assert site.victim.requests == []


def test_user_info_and_other_url_tricks_are_refused_when_created(
    site: Site, api: httpx.Client
) -> None:
    port = site.victim.port
    names = [m["name"] for m in api.get("/monitors").json()["monitors"]]
    for url in (
        f"http://hooks.example.com@127.0.0.1:{port}/",
        f"http://hooks.example.com:x@127.0.0.1:{port}/",
        f"http://hooks.example.com%40127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}\\@hooks.example.com/",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/_POST",
        f"ftp://127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/\r\nX-Injected: 1",
        "http://127.0.0.1:99999/",
        "http:///hook",
        "//127.0.0.1/hook",
        "http://" + "a" * 3000 + ".example.com/",
    ):
        answer = api.post("/monitors", json=monitor_body(site, [webhook(url)]))
        if answer.status_code == 201:  # a host that parses oddly must still never be called
            name = answer.json()["name"]
            assert api.post(f"/monitors/{name}/run").status_code == 200
            names.append(name)
            continue
        assert answer.status_code in (400, 403, 422), (url, answer.text)
    assert sorted(m["name"] for m in api.get("/monitors").json()["monitors"]) == sorted(names)
    assert site.victim.requests == []


def test_a_redirect_from_an_allowed_receiver_is_not_followed(site: Site, api: httpx.Client) -> None:
    before = len(site.redirector.requests)
    url = f"http://127.0.0.2:{site.redirector.port}/hook"
    _run, alert = fire(api, monitor_body(site, [webhook(url)]))
    assert alert is not None and "redirect" in alert["last_error"]
    assert len(site.redirector.requests) == before + 1
    assert site.victim.requests == []


def test_one_refused_channel_does_not_stop_the_others(site: Site, api: httpx.Client) -> None:
    before = len(site.allowed.requests)
    channels = [
        webhook(f"http://localhost:{site.victim.port}/hook"),
        webhook(f"http://127.0.0.2:{site.allowed.port}/ok"),
    ]
    _run, alert = fire(api, monitor_body(site, channels))
    assert alert is not None and "127.0.0.1" in alert["last_error"]
    assert len(site.allowed.requests) == before + 1
    assert site.victim.requests == []


# -- the secret ------------------------------------------------------------------------------


def test_the_webhook_secret_never_comes_back(site: Site, api: httpx.Client) -> None:
    body = monitor_body(
        site,
        [
            webhook(f"http://127.0.0.2:{site.allowed.port}/ok"),
            {"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/" + SECRET},
        ],
    )
    name = str(body["name"])
    answers = [api.post("/monitors", json=body)]
    assert answers[0].status_code == 201
    answers += [
        api.get("/monitors"),
        api.get(f"/monitors/{name}"),
        api.post(f"/monitors/{name}/run"),
        api.get(f"/monitors/{name}/results"),
        api.get("/alerts"),
        api.get("/events"),
        api.get("/audit", params={"resource_type": "monitor"}),
        api.get("/audit", params={"resource_type": "monitor", "name": name}),
        api.post("/monitors", json=body),  # the conflict names nothing of it either
    ]
    for answer in answers:
        assert SECRET not in answer.text, answer.request.url
    shown = api.get(f"/monitors/{name}").json()["channels"]
    assert shown[0]["secret"] == "***"
    assert shown[1]["url"] == "https://hooks.slack.com/***"
    # The receiver did get a signature made with it: the secret is kept, only not shown.
    assert site.allowed.requests[-1][1]["X-Keel-Signature"].startswith("sha256=")
    runner = CliRunner()
    env = {**os.environ, "KEEL_TRACKING_URI": site.server.url, "KEEL_HOME": str(site.root / "cli")}
    for args in (["list"], ["list", "--json"], ["show", name], ["alerts"], ["events", "--json"]):
        result = runner.invoke(build_app("monitors"), ["monitors", *args], env=env)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output, args
    audit = runner.invoke(build_app("audit"), ["audit", "--resource-type", "monitor"], env=env)
    assert audit.exit_code == 0, audit.output
    assert SECRET not in audit.output and name in audit.output


# -- file: references ------------------------------------------------------------------------


def test_file_references_outside_the_references_folder_are_refused(
    site: Site, api: httpx.Client
) -> None:
    import polars as pl

    inside = site.references / "train.parquet"
    pl.DataFrame({"amount": np.random.default_rng(1).normal(100, 5, 300)}).write_parquet(inside)
    link = site.references / "link.parquet"
    link.symlink_to(site.canary)
    names = [m["name"] for m in api.get("/monitors").json()["monitors"]]
    for reference in (
        "file:/etc/passwd",
        f"file:{site.canary}",
        f"file:../../{site.canary.name}",
        "file:../home/references/../../keel.db",
        "file:/proc/self/environ",
        "file:link.parquet",
        f"file:{link}",
        "file:train.parquet\x00.json",
    ):
        answer = api.post("/monitors", json=monitor_body(site, [], reference=reference))
        assert_error(answer, 400, "references folder") if "\x00" not in reference else None
        assert answer.status_code == 400, (reference, answer.text)
    assert sorted(m["name"] for m in api.get("/monitors").json()["monitors"]) == sorted(names)
    for reference in ("file:train.parquet", f"file:{inside}"):
        body = monitor_body(site, [], reference=reference)
        assert api.post("/monitors", json=body).status_code == 201
        run = api.post(f"/monitors/{body['name']}/run")
        assert run.status_code == 200, run.text
        assert run.json()["result"]["dataset"]["drifted"] is True
    assert site.canary.read_bytes() == CANARY


# -- hostile names and conditions ------------------------------------------------------------


def test_hostile_names_and_conditions_are_refused_and_nothing_is_kept(
    site: Site, api: httpx.Client
) -> None:
    names = [m["name"] for m in api.get("/monitors").json()["monitors"]]
    bad_names = ["../x", "<script>alert(1)</script>", "a" * 64, "UPPER", "x\x00y", "", "a b"]
    for name in bad_names:
        body = {**monitor_body(site, []), "name": name}
        assert_error(api.post("/monitors", json=body), 400, "monitor name")
    for deployment in ("../victim", "Watched", "w" * 64, "w\n"):
        body = {**monitor_body(site, []), "deployment": deployment}
        assert api.post("/monitors", json=body).status_code == 400
    conditions = [
        "__import__('os').system('touch /tmp/pwned')",
        "column:amount.score > 1e999",
        "column:amount.score > nan",
        "column:.drifted",
        "dataset.drifted; drop table monitors",
        "metric:accuracy < 0.5 or 1 == 1",
        "x" * 10_000,
        "",
    ]
    for condition in conditions:
        body = monitor_body(site, [])
        body["rules"] = [{"name": "r", "condition": condition}]
        answer = api.post("/monitors", json=body)
        assert answer.status_code == 400, (condition, answer.text)
        assert answer.json()["error"]["code"] == "invalid_argument"
    for rule in (
        {"name": "r", "condition": "dataset.drifted", "for_windows": 10**20},
        {"name": "r", "condition": "dataset.drifted", "renotify_seconds": -1},
        {"name": "r", "condition": "dataset.drifted", "severity": "<b>"},
        {"name": "r" * 10_000, "condition": "dataset.drifted"},
        {"name": "r", "condition": "dataset.drifted", "eval": "1"},
    ):
        body = monitor_body(site, [])
        body["rules"] = [rule]
        assert api.post("/monitors", json=body).status_code in (400, 422), rule
    assert not Path("/tmp/pwned").exists()
    assert sorted(m["name"] for m in api.get("/monitors").json()["monitors"]) == sorted(names)
    for path in ("/monitors/..%2F..%2Fx", "/monitors/%00", "/monitors/a%2Fb/results"):
        assert 400 <= api.get(path).status_code < 500


# -- the audit log ---------------------------------------------------------------------------


def _labels(url: str, ids: list[str], label: float, at: int, seq: int) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "prediction_id": ids,
            "time": pa.array([at] * len(ids), pa.timestamp("ms", "UTC")),
            "deployment": [DEPLOYMENT] * len(ids),
            "label": pa.array([label] * len(ids), pa.float64()),
        }
    )
    name = f"0123456789ab-{seq:06d}"
    r = httpx.put(
        f"{url}{API}/predictions/deployments/{DEPLOYMENT}/feedback/{name}",
        content=parquet_bytes(table),
    )
    assert r.status_code == 201, r.text


def test_create_fire_resolve_and_delete_are_audited(site: Site, api: httpx.Client) -> None:
    body = monitor_body(site, [webhook(f"http://127.0.0.2:{site.allowed.port}/ok")])
    body["rules"] = [{"name": "accuracy", "condition": "metric:accuracy < 0.5"}]
    body["performance"] = "classifier"
    name = str(body["name"])
    ids = site.current_ids  # type: ignore[attr-defined]
    now = int(time.time() * 1000)
    _labels(site.server.url, ids, 0.0, now, 100)  # every prediction (all 1) wrong
    fire(api, body)
    _labels(site.server.url, ids, 1.0, now + 1000, 101)  # corrected: every one right
    calm = api.post(f"/monitors/{name}/run")
    assert calm.status_code == 200, calm.text
    assert [n["status"] for n in calm.json()["notifications"]] == ["resolved"]
    assert api.delete(f"/monitors/{name}").status_code == 200
    records = api.get("/audit", params={"resource_type": "monitor", "name": name}).json()
    actions = [r["action"] for r in records["records"]]
    assert actions == ["monitor.create", "alert.fire", "alert.resolve", "monitor.delete"]
    assert SECRET not in str(records)
    events = api.get("/events").json()["events"]
    assert [e["kind"] for e in events if e["subject"] == name] == [
        "alert.firing",
        "alert.resolved",
    ]


def test_audit_of_a_monitor_by_name_on_a_server_with_users(team: Team) -> None:  # noqa: F811
    """Monitors belong to no project: asking for one's records by name is judged on the
    default project (it was a 500: the authenticator knows no project of a monitor)."""
    params = {"resource_type": "monitor", "name": "anything"}
    with team.client("alice") as alice:  # maintainer on default
        answer = alice.get(f"{API}/audit", params=params)
        assert answer.status_code == 200, answer.text
    with team.client("erin") as erin:  # maintainer on team-a only
        assert_error(erin.get(f"{API}/audit", params=params), 403, "default")


def _model(team: Team, who: str, project: str) -> str:  # noqa: F811
    """A registered model with one version, made by ``who`` in ``project``."""
    from registry.support import MANIFEST

    name = f"m-{os.urandom(4).hex()}"
    with team.client(who) as api:
        r = api.post(f"{API}/experiments", json={"name": f"e-{name}", "project": project})
        assert r.status_code == 201, r.text
        r = api.post(f"{API}/runs", json={"experiment_id": r.json()["experiment_id"]})
        run_id = r.json()["info"]["run_id"]
        r = api.put(
            f"{API}/runs/{run_id}/artifacts/content",
            params={"path": "model/keel-model.json"},
            content=MANIFEST,
        )
        assert r.status_code == 201, r.text
        body = {"source": f"runs:/{run_id}/model", "create_model": True, "project": project}
        assert api.post(f"{API}/registered-models/{name}/versions", json=body).status_code == 201
        body = {"name": name, "policy": {"targets": [{"model_uri": f"models:/{name}/1"}]}}
        r = api.post(f"{API}/deployments", json={**body, "project": project})
        assert r.status_code == 201, r.text
    return name


def test_a_monitor_needs_read_access_to_what_it_watches_and_compares(
    team: Team,  # noqa: F811
) -> None:
    """Its results show statistics of the deployment's log and of its reference: alice,
    maintainer of the default project only, may not point one at team-a's deployment nor
    take team-a's model's training data as a reference."""
    theirs = _model(team, "erin", "team-a")  # a model and a deployment, both named so
    ours = _model(team, "alice", "default")
    window = "window:0/3600000"
    with team.client("alice") as alice:
        body = {"name": f"x-{theirs}", "deployment": theirs, "reference": window}
        assert_error(alice.post(f"{API}/monitors", json=body), 403, "team-a")
        body = {"name": f"y-{ours}", "deployment": ours, "reference": f"models:/{theirs}/1"}
        assert_error(alice.post(f"{API}/monitors", json=body), 403, "team-a")
        body = {"name": f"z-{ours}", "deployment": ours, "reference": window}
        assert alice.post(f"{API}/monitors", json=body).status_code == 201
        names = [m["name"] for m in alice.get(f"{API}/monitors").json()["monitors"]]
        assert f"x-{theirs}" not in names and f"y-{ours}" not in names


def test_monitors_of_another_projects_deployment_are_not_shown(team: Team) -> None:  # noqa: F811
    """root makes a monitor on erin's deployment in team-a: alice (maintainer of default
    only, so she holds monitor:read and monitor:write) neither sees it nor its results or
    events, nor may she run or delete it."""
    theirs = _model(team, "erin", "team-a")
    name = f"w-{theirs}"
    body = {"name": name, "deployment": theirs, "reference": "window:0/3600000"}
    with team.client("root") as root:
        assert root.post(f"{API}/monitors", json=body).status_code == 201
        assert name in [m["name"] for m in root.get(f"{API}/monitors").json()["monitors"]]
    with team.client("alice") as alice:
        assert name not in [m["name"] for m in alice.get(f"{API}/monitors").json()["monitors"]]
        for answer in (
            alice.get(f"{API}/monitors/{name}"),
            alice.get(f"{API}/monitors/{name}/results"),
            alice.post(f"{API}/monitors/{name}/run"),
            alice.delete(f"{API}/monitors/{name}"),
        ):
            assert_error(answer, 403, "team-a")
        events = alice.get(f"{API}/events").json()["events"]
        assert all(e["payload"].get("deployment") != theirs for e in events)
    with team.client("root") as root:
        assert root.get(f"{API}/monitors/{name}").status_code == 200

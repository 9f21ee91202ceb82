"""`keel monitors` from the command line, against a SQLite store and a real receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.cli.monitors import every_text, parse_rule, sparkline
from keel.client import Client
from keel.errors import InvalidArgument
from monitoring.receivers import SECRET, Receiver
from monitoring.test_monitors import _reference, _settings, _write_predictions, deploy


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _keel(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(
        KEEL_HOME=str(tmp_path / "home"),
        KEEL_TRACKING_URI=f"sqlite:///{tmp_path / 'keel.db'}",
        KEEL_ARTIFACTS_URI=str(tmp_path / "artifacts"),
        KEEL_ALERT_ALLOWED_HOSTS="127.0.0.1",
        KEEL_ALERT_ALLOWED_NETWORKS="127.0.0.1/32",
    )
    return subprocess.run(
        [sys.executable, "-m", "keel", "monitors", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_create_run_show_alerts_events_delete(tmp_path: Path, receiver: Receiver) -> None:
    reference = _reference(tmp_path)
    local = Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=_settings(tmp_path))
    try:
        deploy(local)
    finally:
        local.close()
    made = _keel(
        tmp_path, "create", "fraud-drift", "--deployment", "fraud-api", "--reference", reference,
        "--every", "1h", "--rule", "drift=dataset.drifted;severity=critical",
        "--channel", f"webhook={receiver.url},secret={SECRET.decode()}",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created monitor 'fraud-drift'" in made.stdout
    local = Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=_settings(tmp_path))
    try:
        _write_predictions(local, "fraud-api", int(time.time() * 1000) - 60_000, shift=40.0)
    finally:
        local.close()

    ran = _keel(tmp_path, "run", "fraud-drift")
    assert ran.returncode == 0, ran.stderr
    assert "fraud-drift: DRIFTED" in ran.stdout and "alert drift: firing" in ran.stdout
    assert len(receiver.requests) == 1

    shown = _keel(tmp_path, "show", "fraud-drift")
    assert shown.returncode == 0, shown.stderr
    assert "amount" in shown.stdout and "DRIFT" in shown.stdout and "firing" in shown.stdout
    as_json = json.loads(_keel(tmp_path, "show", "fraud-drift", "--json").stdout)
    assert as_json["monitor"]["channels"][0]["secret"] == "***"
    assert {r["column"] for r in as_json["results"]} >= {None, "amount", "age", "country"}

    listed = json.loads(_keel(tmp_path, "alerts", "--json").stdout)
    assert [a["status"] for a in listed["alerts"]] == ["firing"]
    events = json.loads(_keel(tmp_path, "events", "--json").stdout)
    assert [e["kind"] for e in events["events"]] == ["alert.firing"]
    assert _keel(tmp_path, "delete", "fraud-drift").returncode == 0
    assert "fraud-drift" not in _keel(tmp_path, "list").stdout


def test_bad_options_say_what_is_wrong(tmp_path: Path) -> None:
    bad = _keel(
        tmp_path, "create", "m", "--deployment", "d", "--reference", "file:/x.parquet",
        "--rule", "drift=dataset.share;for=2",
    )  # fmt: skip
    assert bad.returncode == 1 and "a number needs a comparison" in bad.stderr
    bad = _keel(
        tmp_path, "create", "m", "--deployment", "d", "--reference", "file:/x.parquet",
        "--channel", "webhook=http://127.0.0.1/x",
    )  # fmt: skip
    assert bad.returncode == 1 and "a webhook needs a secret" in bad.stderr
    assert "m " not in _keel(tmp_path, "list").stdout


def test_rule_option_and_sparkline() -> None:
    assert parse_rule("share=dataset.share >= 0.5;for=3;severity=critical;renotify=600") == {
        "name": "share",
        "condition": "dataset.share >= 0.5",
        "for_windows": 3,
        "severity": "critical",
        "renotify_seconds": 600,
    }
    with pytest.raises(InvalidArgument, match="for=N"):
        parse_rule("x=dataset.drifted;every=2")
    assert sparkline([0.0, 0.5, 1.0, None]) == "▁▅█ "  # a metric: smallest to largest
    assert sparkline([None, None]) == "  "
    assert sparkline([0.9, None, 0.9]) == "▄ ▄"  # a steady metric is level, halfway up
    # A drift score is drawn from none to twice its threshold: steady drift stays high,
    # a calm series low, whatever the spread between windows.
    assert sparkline([1.0, 1.0, 1.0], threshold=0.5) == "███"
    assert sparkline([0.01, 0.01], threshold=0.1) == "▁▁"
    assert sparkline([0.05, 0.1, 0.2], threshold=0.1) == "▃▅█"
    # A p-value: smaller is more drift, so it is drawn as -log10(p).
    assert sparkline([0.9, 0.05, 1e-300], threshold=0.05, test="ks") == "▁▁█"
    assert sparkline([0.9, 0.05, 0.0025], threshold=0.05, test="ks") == "▁▅█"
    assert [every_text(s) for s in (3600, 900, 86400, 90)] == ["1h", "15m", "1d", "90s"]


def test_show_draws_several_windows(tmp_path: Path) -> None:
    hour = 3_600_000
    now = int(time.time() * 1000) // hour * hour
    reference = _reference(tmp_path)
    deployer = Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=_settings(tmp_path))
    try:
        deploy(deployer)
    finally:
        deployer.close()
    made = _keel(
        tmp_path, "create", "pay", "--deployment", "fraud-api", "--reference", reference,
        "--every", "1h", "--performance", "classifier",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    fresh = _keel(tmp_path, "show", "pay").stdout
    assert "no runs yet: keel server runs it on its schedule" in fresh
    assert "run it now with: keel monitors run pay" in fresh and "windows" not in fresh
    local = Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=_settings(tmp_path))
    try:
        for back, shift in ((3, 0.0), (2, 20.0), (1, 40.0)):
            ids, predicted = _write_predictions(
                local, "fraud-api", now - back * hour + 60_000, shift
            )
            keel_feedback(local, ids, predicted)
            local.monitors.run("pay", at_ms=now - (back - 1) * hour)
    finally:
        local.close()
    shown = _keel(tmp_path, "show", "pay")
    assert shown.returncode == 0, shown.stderr
    lines = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if "│" in line}
    assert "last 3 windows" in shown.stdout and "every 1h" in shown.stdout
    assert "≥ 0.5" in lines["(dataset: share drifted)"]
    amount = [cell.strip() for cell in lines["amount"].split("│")]
    assert amount[2] == "ks" and amount[5:8] == ["p ≤ 0.05", "DRIFT", "2 of 3"]
    assert amount[3][-1] == "█"  # the latest window drifted most
    accuracy = [cell.strip() for cell in lines["metric:accuracy"].split("│")]
    assert accuracy[3] == "▄▄▄" and accuracy[4] == "1" and accuracy[6:8] == ["", ""]


def keel_feedback(client: Client, ids: list[str], labels: Any) -> None:
    from keel.predictions.feedback import open_feedback_log

    log = open_feedback_log(client.backend, client.settings)
    try:
        log.log_feedback("fraud-api", ids, [int(x) for x in labels])
    finally:
        log.close(30)

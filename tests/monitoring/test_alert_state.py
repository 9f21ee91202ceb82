"""Alert rules: conditions over results, windows in a row, deduplication, reminders."""

from __future__ import annotations

import pytest

from keel.errors import InvalidArgument
from keel.monitoring.alert_state import AlertRule, AlertState, Condition

DRIFTED = {
    "dataset": {"share": 0.6, "drifted": True},
    "columns": [{"column": "amount", "score": 0.3, "drifted": True}],
}
CALM = {
    "dataset": {"share": 0.1, "drifted": False},
    "columns": [{"column": "amount", "score": 0.01, "drifted": False}],
}
NO_DATA = {"no_data": True, "dataset": {"share": None, "drifted": False}, "columns": []}


@pytest.mark.parametrize(
    ("condition", "result", "holds"),
    [
        ("dataset.drifted", DRIFTED, True),
        ("dataset.drifted", CALM, False),
        ("dataset.share >= 0.5", DRIFTED, True),
        ("dataset.share >= 0.5", CALM, False),
        ("any_column.drifted", DRIFTED, True),
        ("column:amount.score > 0.2", DRIFTED, True),
        ("column:amount.drifted", CALM, False),
        ("column:missing.drifted", DRIFTED, None),
        ("metric:accuracy < 0.85", {"metrics": {"accuracy": 0.8}}, True),
        ("metric:accuracy < 0.85", {"metrics": {"accuracy": 0.9}}, False),
        ("metric:accuracy < 0.85", {"metrics": {"accuracy": float("nan")}}, None),
        ("dataset.drifted", NO_DATA, None),
    ],
)
def test_conditions(condition: str, result: dict, holds: bool | None) -> None:
    assert Condition.parse(condition).holds(result) is holds


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("dataset.share", "a number needs a comparison"),
        ("__import__('os')", "must be one of"),
        ("dataset.share >= abc", "must be one of"),
        ("metric:acc ~ 1", "must be one of"),
    ],
)
def test_bad_conditions_name_the_grammar(condition: str, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        AlertRule("r", condition)


def test_bad_rule_fields() -> None:
    with pytest.raises(InvalidArgument, match="for_windows"):
        AlertRule("r", "dataset.drifted", for_windows=0)
    with pytest.raises(InvalidArgument, match="severity"):
        AlertRule("r", "dataset.drifted", severity="panic")
    with pytest.raises(InvalidArgument, match="renotify_seconds"):
        AlertRule("r", "dataset.drifted", renotify_seconds=-1)


def test_fires_after_n_windows_then_deduplicates_reminds_and_resolves() -> None:
    rule = AlertRule("drift", "dataset.drifted", for_windows=2, renotify_seconds=60)
    state = AlertState()
    assert state.observe(rule, DRIFTED, now_ms=1_000, monitor="m") is None
    assert state.status == "pending"
    fired = state.observe(rule, DRIFTED, now_ms=2_000, monitor="m")
    assert fired is not None and fired.status == "firing" and not fired.reminder
    assert state.observe(rule, DRIFTED, now_ms=3_000, monitor="m") is None  # deduplicated
    reminder = state.observe(rule, DRIFTED, now_ms=62_000, monitor="m")
    assert reminder is not None and reminder.reminder and reminder.dedup_key == fired.dedup_key
    assert state.observe(rule, NO_DATA, now_ms=63_000, monitor="m") is None  # no data: unchanged
    assert state.status == "firing"
    resolved = state.observe(rule, CALM, now_ms=64_000, monitor="m")
    assert resolved is not None and resolved.status == "resolved"
    assert resolved.dedup_key == fired.dedup_key
    assert state.status == "ok"
    assert state.observe(rule, CALM, now_ms=65_000, monitor="m") is None


def test_a_broken_streak_starts_again() -> None:
    rule = AlertRule("drift", "dataset.drifted", for_windows=3)
    state = AlertState()
    for result in (DRIFTED, DRIFTED, CALM, DRIFTED, DRIFTED):
        assert state.observe(rule, result, now_ms=1) is None
    assert state.observe(rule, DRIFTED, now_ms=2) is not None


def test_empty_windows_never_fire() -> None:
    rule = AlertRule("drift", "dataset.drifted")
    state = AlertState()
    for _ in range(5):
        assert state.observe(rule, NO_DATA, now_ms=1) is None
    assert state.status == "ok"


def test_state_round_trips() -> None:
    rule = AlertRule("drift", "dataset.drifted", renotify_seconds=0)
    state = AlertState()
    state.observe(rule, DRIFTED, now_ms=5)
    again = AlertState.from_dict(state.to_dict())
    assert again == state
    assert again.observe(rule, DRIFTED, now_ms=10**9) is None  # renotify 0: only once
    with pytest.raises(InvalidArgument, match="ok, pending or firing"):
        AlertState.from_dict({"status": "exploded"})

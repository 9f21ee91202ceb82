"""MLflow's search_experiments filters and orders, tested on experiments in memory."""

from __future__ import annotations

import pytest

from keel.entities.experiment import Experiment
from keel.entities.search.experiments import (
    experiment_matches,
    parse_experiment_filter,
    parse_experiment_order,
    sort_experiments,
)
from keel.errors import InvalidArgument

EXPERIMENTS = [
    Experiment("1", "churn-v1", "/a", creation_time=100, last_update_time=500,
               tags={"team": "growth"}),
    Experiment("2", "Churn-v2", "/a", creation_time=200, last_update_time=200,
               tags={"team": "risk", "owner": "ada"}),
    Experiment("10", "fraud", "/a", creation_time=300, last_update_time=300),
]  # fmt: skip


def names(filter_string: str) -> list[str]:
    node = parse_experiment_filter(filter_string)
    return [e.name for e in EXPERIMENTS if experiment_matches(node, e)]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", ["churn-v1", "Churn-v2", "fraud"]),
        ("name = 'fraud'", ["fraud"]),
        ("attributes.name != 'fraud'", ["churn-v1", "Churn-v2"]),
        ("name LIKE 'churn-%'", ["churn-v1"]),
        ("name ILIKE 'churn-%'", ["churn-v1", "Churn-v2"]),
        ("name NOT ILIKE '%v_'", ["fraud"]),
        ("name IN ('fraud', 'x')", ["fraud"]),
        ("creation_time >= 200", ["Churn-v2", "fraud"]),
        ("last_update_time < 300 or name = 'fraud'", ["Churn-v2", "fraud"]),
        ("tags.team = 'growth'", ["churn-v1"]),
        ("tags.team != 'growth'", ["Churn-v2"]),  # a missing tag matches no comparison
        ("tags.owner IS NULL", ["churn-v1", "fraud"]),
        ("tags.`owner` IS NOT NULL and name ILIKE 'churn%'", ["Churn-v2"]),
    ],
)
def test_filters(filter_string: str, expected: list[str]) -> None:
    assert names(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("params.x = 'a'", 'experiments cannot be filtered by "params.x"'),
        ("run_name = 'a'", "cannot be filtered"),
        ("name > 'a'", "> cannot be used with name"),
        ("creation_time = '5'", "expected a number"),
        ("name = fraud", "quote strings"),
    ],
)
def test_mistakes_name_the_field(filter_string: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_experiment_filter(filter_string)


def test_orders() -> None:
    order = parse_experiment_order(["name DESC"])
    assert [e.name for e in sort_experiments(EXPERIMENTS, order)] == [
        "fraud", "churn-v1", "Churn-v2",
    ]  # fmt: skip
    by_time = sort_experiments(EXPERIMENTS, parse_experiment_order(["last_update_time"]))
    assert [e.experiment_id for e in by_time] == ["2", "10", "1"]
    by_id = sort_experiments(EXPERIMENTS, parse_experiment_order(["experiment_id DESC"]))
    assert [e.experiment_id for e in by_id] == ["10", "2", "1"]  # ids as numbers
    for wrong in (["tags.team"], ["name sideways"], ["name ASC DESC"], [3]):
        with pytest.raises(InvalidArgument, match=r"order_by\[0\]"):
            parse_experiment_order(wrong)  # type: ignore[arg-type]

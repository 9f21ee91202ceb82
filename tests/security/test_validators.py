"""Validators match whole values: a trailing newline (``re.match`` with ``$`` lets one
through) is refused in ids, aliases, keys, hashes and requirements; searches are bounded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keel.entities import rules
from keel.entities.dataset import check_context, check_dataset_name, check_digest
from keel.entities.registry import check_alias, check_content_hash
from keel.errors import InvalidArgument
from keel.models.manifest import REQUIREMENT
from keel.store import TrackingStore

CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "run id": (rules.check_run_id, "a" * 32),
    "key": (lambda v: rules.check_key("metric key", v), "loss"),
    "alias": (check_alias, "champion"),
    "content hash": (check_content_hash, "blake3:" + "0" * 64),
    "digest": (check_digest, "0" * 64),
    "context": (check_context, "training"),
    "model name": (rules.check_model_name, "fraud"),
    "dataset name": (check_dataset_name, "churn"),
    "experiment name": (lambda v: rules.check_name("experiment name", v), "exp"),
}


@pytest.mark.parametrize("what", sorted(CHECKS))
@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\u200b", "\x00"])
def test_a_valid_value_with_a_trailing_extra_is_refused(what: str, suffix: str) -> None:
    check, good = CHECKS[what]
    if what == "key" and suffix == " ":
        pytest.skip("a key's alphabet has a space in it (as MLflow's): 'loss ' is a key")
    assert check(good) == good
    with pytest.raises(InvalidArgument):
        check(good + suffix)


@pytest.mark.parametrize("requirement", ["numpy==1.26\n", "numpy\n--index-url http://x", "a\t\n"])
def test_requirements_match_whole_lines(requirement: str) -> None:
    assert REQUIREMENT.fullmatch("numpy>=1.26, <2") is not None
    assert REQUIREMENT.fullmatch(requirement) is None


def test_searches_are_bounded(store: TrackingStore) -> None:
    exp = store.create_experiment(f"bounded-{id(store)}")
    with pytest.raises(InvalidArgument, match="experiment_ids: at most 1000"):
        store.search_runs([exp] * 1001)
    with pytest.raises(InvalidArgument, match="order_by: at most 20"):
        store.search_runs([exp], order_by=["start_time DESC"] * 21)
    with pytest.raises(InvalidArgument, match="max_results"):
        store.search_runs([exp], max_results=2**63)
    with pytest.raises(InvalidArgument, match="filter"):
        store.search_runs([exp], "params.a = '" + "x" * 20_000 + "'")

"""search_runs on a run's parent (``parent_run_id``, MLflow's ``tags.mlflow.parentRunId``)
and on a run-id prefix, on every backend."""

from __future__ import annotations

import pytest

from keel.errors import InvalidArgument


@pytest.fixture
def family(store, exp_id) -> tuple[str, str, list[str], str]:
    """A parent with three children, and a lone top-level run."""
    parent = store.create_run(exp_id, run_name="search").run_id
    children = [
        store.create_run(exp_id, run_name=f"trial-{i}", parent_run_id=parent).run_id
        for i in range(3)
    ]
    lone = store.create_run(exp_id, run_name="lone").run_id
    return parent, lone, children, exp_id


def ids(store, exp_id: str, filter_string: str) -> set[str]:
    return {run.info.run_id for run in store.search_runs([exp_id], filter_string)}


def test_children_by_parent_attribute(store, family) -> None:
    parent, lone, children, exp_id = family
    assert ids(store, exp_id, f"attributes.parent_run_id = '{parent}'") == set(children)
    assert ids(store, exp_id, f"parent_run_id = '{parent}'") == set(children)
    assert ids(store, exp_id, f"parent_run_id IN ('{parent}', '{lone}')") == set(children)


def test_mlflow_parent_tag_is_the_attribute(store, family) -> None:
    parent, _, children, exp_id = family
    assert ids(store, exp_id, f"tags.mlflow.parentRunId = '{parent}'") == set(children)
    assert ids(store, exp_id, f"tags.`mlflow.parentRunId` = '{parent}'") == set(children)
    both = f"tags.mlflow.parentRunId = '{parent}' and run_name = 'trial-1'"
    assert ids(store, exp_id, both) == {children[1]}


def test_top_level_runs(store, family) -> None:
    parent, lone, children, exp_id = family
    assert ids(store, exp_id, "parent_run_id IS NULL") == {parent, lone}
    assert ids(store, exp_id, "tags.mlflow.parentRunId IS NULL") == {parent, lone}
    assert ids(store, exp_id, "parent_run_id IS NOT NULL") == set(children)


def test_run_id_prefix(store, family) -> None:
    parent, _, _, exp_id = family
    assert ids(store, exp_id, f"run_id LIKE '{parent[:6]}%'") == {parent}
    assert ids(store, exp_id, f"attributes.run_id LIKE '{parent[:32]}%'") == {parent}
    assert ids(store, exp_id, "run_id LIKE 'zz%'") == set()
    assert len(ids(store, exp_id, "run_id LIKE '%'")) == 5


def test_ordered_and_paged_by_parent(store, family) -> None:
    parent, lone, children, exp_id = family
    for order_by in (["parent_run_id DESC"], ["tags.mlflow.parentRunId DESC"]):
        seen, token = [], None
        while True:
            page = store.search_runs([exp_id], order_by=order_by, max_results=2, page_token=token)
            seen.extend(run.info.run_id for run in page)
            if (token := page.token) is None:
                break
        assert sorted(seen[:3]) == sorted(children)  # the children together, parents last
        assert sorted(seen[3:]) == sorted([parent, lone])


def test_parent_values_are_strings(store, exp_id) -> None:
    with pytest.raises(InvalidArgument, match="quote the value"):
        store.search_runs([exp_id], "parent_run_id = 12")

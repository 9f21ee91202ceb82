"""PagedList: MLflow's page shape (a list with ``.token``) for every paged answer."""

from __future__ import annotations

import pickle

from keel.entities import PagedList, RunPage
from keel.entities.registry import AuditPage, ModelVersionPage, RegisteredModelPage


def test_a_list_with_a_token() -> None:
    page = PagedList(["a", "b", "c"], "next")
    assert isinstance(page, list)
    assert len(page) == 3 and page[1] == "b" and page[-1] == "c"
    assert page[:2] == ["a", "b"] and type(page[:2]) is list
    assert list(page) == ["a", "b", "c"]
    assert page.token == "next" and page.next_page_token == "next"
    assert PagedList().token is None and PagedList() == []
    assert "token='next'" in repr(page)


def test_equality_counts_the_token() -> None:
    assert PagedList([1], "t") == PagedList([1], "t")
    assert PagedList([1], "t") != PagedList([1], None)
    assert PagedList([1], "t") == [1]  # beside a plain list, only the items count


def test_pickles_with_its_token() -> None:
    page = RunPage(["x"], "t")
    again = pickle.loads(pickle.dumps(page))
    assert type(again) is RunPage and again == page and again.token == "t"


def test_every_page_is_a_paged_list_and_keeps_its_old_name() -> None:
    for kind, old_name in (
        (RunPage, "runs"),
        (RegisteredModelPage, "models"),
        (ModelVersionPage, "versions"),
        (AuditPage, "records"),
    ):
        page = kind(["x"], "t")
        assert isinstance(page, PagedList)
        assert getattr(page, old_name) == ["x"] and page.next_page_token == "t"

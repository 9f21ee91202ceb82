"""Listing datasets and their versions through the client: one ``PagedList`` each."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import unique
from data.support import write_files
from keel.client import Client
from keel.entities import PagedList
from keel.errors import InvalidArgument, NotFound


def test_datasets_and_versions_are_paged_lists(keel_client: Client, tmp_path: Path) -> None:
    data = keel_client.data
    name = unique("listed")
    src = write_files(tmp_path / "src", {"a.txt": "one"})
    data.add(src, name=name)
    write_files(src, {"a.txt": "two"})
    data.add(src, name=name)

    datasets = data.list_datasets()
    assert isinstance(datasets, PagedList) and datasets.token is None
    assert name in {d.name for d in datasets}
    versions = data.list_dataset_versions(name)
    assert isinstance(versions, PagedList) and versions.token is None
    assert [v.version for v in versions] == [2, 1]  # newest first
    with pytest.raises(NotFound):
        data.list_dataset_versions(unique("missing"))
    with pytest.raises(InvalidArgument, match="dataset name"):
        data.list_dataset_versions("")

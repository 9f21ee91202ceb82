"""The audit log: every change recorded in its transaction, read with filters."""

from __future__ import annotations

import time

import pytest

from keel.entities.registry import AuditAction
from keel.errors import InvalidArgument
from keel.store import RegistryStore
from registry.support import CI, OWNER, REVIEWER, new_version


def test_filters_and_pages(registry: RegistryStore, model: str, source: str) -> None:
    new_version(registry, model, source)
    registry.record_check(model, 1, "accuracy", True, actor=CI)
    time.sleep(0.005)
    since = registry.list_audit(model).records[-1].at + 1
    time.sleep(0.005)
    registry.set_alias(model, "staging", 1, actor=REVIEWER)
    registry.set_registered_model_tag(model, "team", "risk", actor=OWNER)

    everything = registry.list_audit(model).records
    assert [a.action for a in everything] == [
        AuditAction.MODEL_CREATE,
        AuditAction.VERSION_CREATE,
        AuditAction.CHECK_RECORD,
        AuditAction.ALIAS_SET,
        AuditAction.MODEL_TAG_SET,
    ]
    assert [a.id for a in everything] == sorted(a.id for a in everything)
    assert all(a.name == model for a in everything)
    assert [a.action for a in registry.list_audit(model, actor=CI).records] == [
        AuditAction.CHECK_RECORD
    ]
    assert [a.actor for a in registry.list_audit(model, action="alias.set").records] == [REVIEWER]
    recent = registry.list_audit(model, since=since).records
    assert [a.action for a in recent] == [AuditAction.ALIAS_SET, AuditAction.MODEL_TAG_SET]
    by_reviewer = registry.list_audit(actor=REVIEWER, action=AuditAction.ALIAS_SET).records
    assert everything[3] in by_reviewer

    pages, token = [], None
    while True:
        page = registry.list_audit(model, max_results=2, page_token=token)
        pages.append([a.id for a in page.records])
        if (token := page.next_page_token) is None:
            break
    assert [i for p in pages for i in p] == [a.id for a in everything]
    assert [len(p) for p in pages] == [2, 2, 1]


def test_bad_filters_are_refused(registry: RegistryStore) -> None:
    with pytest.raises(InvalidArgument, match="action: must be one of"):
        registry.list_audit(action="model.rename")
    with pytest.raises(InvalidArgument, match="since"):
        registry.list_audit(since=-1)
    with pytest.raises(InvalidArgument, match="max_results"):
        registry.list_audit(max_results=10**9)
    with pytest.raises(InvalidArgument, match="page_token"):
        registry.list_audit(page_token="!!")


def test_the_store_offers_no_way_to_change_the_log(registry: RegistryStore) -> None:
    from keel.store.registry import RegistryStore as Protocol

    names = [n for n in dir(Protocol) if not n.startswith("_")]
    assert [n for n in names if "audit" in n] == ["list_audit"]
    assert not [n for n in dir(registry) if "audit" in n and n != "list_audit" and n[0] != "_"]

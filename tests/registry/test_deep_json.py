"""A check's details nested too deeply are refused at write on every backend, and one
stored before the limit existed reads back as None instead of failing every read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, update

from keel.entities.json_depth import MAX_JSON_DEPTH
from keel.errors import InvalidArgument
from keel.store import RegistryStore
from keel.store.sql.tables import check_results
from registry.conftest import MakeSource
from registry.support import CI, kind_of, new_version


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_deep_details_are_refused_naming_the_field(
    registry: RegistryStore, model: str, make_source: MakeSource
) -> None:
    version = new_version(registry, model, make_source()).version
    registry.record_check(model, version, "ok", True, details=_deep(MAX_JSON_DEPTH), actor=CI)
    for levels in (MAX_JSON_DEPTH + 1, 253):
        with pytest.raises(InvalidArgument, match=r"details.*nest at most 32"):
            registry.record_check(model, version, "deep", True, details=_deep(levels), actor=CI)
    assert [c.check for c in registry.list_checks(model, version)] == ["ok"]


def test_deep_details_stored_earlier_read_back_as_none(
    registry: RegistryStore, model: str, make_source: MakeSource, store_uri: str
) -> None:
    if kind_of(registry) == "rest":
        pytest.skip("the server's database is not this test's to write behind its back")
    version = new_version(registry, model, make_source()).version
    registry.record_check(model, version, "old", False, details={"x": 1}, actor=CI)
    engine = create_engine(store_uri)
    deep = '{"a": ' * 253 + "1" + "}" * 253
    with engine.begin() as conn:
        conn.execute(
            update(check_results).where(check_results.c.name == model).values(details=deep)
        )
    engine.dispose()
    [check] = registry.list_checks(model, version)
    assert (check.check, check.passed, check.details) == ("old", False, None)

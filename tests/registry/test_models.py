"""Registered models: create, read, search, update, tag and delete, on every store."""

from __future__ import annotations

import pytest

from conftest import unique
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store import RegistryStore
from registry.support import OWNER, REVIEWER, audit_actions, new_version
from store.support import assert_cases


def test_create_and_get(registry: RegistryStore) -> None:
    name = unique("model")
    made = registry.create_registered_model(
        name, description="fraud scores", tags={"team": "risk"}, actor=OWNER
    )
    assert made.name == name
    assert made.description == "fraud scores"
    assert made.tags == {"team": "risk"}
    assert made.aliases == {}
    assert made.created > 0 and made.updated == made.created
    assert registry.get_registered_model(name) == made
    [record] = registry.list_audit(name).records
    assert (record.action.value, record.actor, record.before) == ("model.create", OWNER, None)
    assert record.after == {"description": "fraud scores", "tags": {"team": "risk"}}


def test_a_taken_name_is_refused(registry: RegistryStore, model: str) -> None:
    with pytest.raises(AlreadyExists, match="already exists"):
        registry.create_registered_model(model, actor=REVIEWER)
    assert audit_actions(registry, model) == ["model.create"]


def test_unknown_model_is_not_found(registry: RegistryStore) -> None:
    name = unique("missing")
    with pytest.raises(NotFound, match="no such model"):
        registry.get_registered_model(name)
    for call in (
        lambda: registry.update_registered_model(name, description="x", actor=OWNER),
        lambda: registry.delete_registered_model(name, actor=OWNER),
        lambda: registry.set_registered_model_tag(name, "k", "v", actor=OWNER),
        lambda: registry.search_model_versions(name),
        lambda: registry.get_alias_policies(name),
    ):
        with pytest.raises(NotFound, match=f"model '{name}': no such model"):
            call()


@pytest.mark.parametrize(
    "name",
    ["model with spaces", "100% sure?#x", "ünïcødé-模型", "a+b=c&d", "x" * 250],
)
def test_names_that_are_allowed_round_trip(registry: RegistryStore, name: str) -> None:
    # Over REST these go into URL paths: quoting must carry them exactly.
    name = f"{name[:230]} {unique('')}"
    registry.create_registered_model(name, actor=OWNER)
    assert registry.get_registered_model(name).name == name
    registry.set_registered_model_tag(name, "k", "v", actor=OWNER)
    assert registry.get_registered_model(name).tags["k"] == "v"


def test_bad_names_are_refused_and_nothing_is_created(registry: RegistryStore) -> None:
    marker = unique("bad")
    cases = {
        "": "must not be empty",
        "   ": "must not be empty",
        f"{marker}/x": "must not contain '/'",
        f"{marker}@champion": "must not contain '@'",
        f"{marker}\x00": "control characters",
        f"{marker}\nnext": "control characters",
        "m" * 251: "at most 250 characters",
        ".": "are not names",
        "..": "are not names",
        f"{marker} ": "whitespace",
        f" {marker}": "whitespace",
        f"{marker}\u200b": "invisible",
        f"{marker}\u202e": "invisible",
        f"{marker}\ufb01": "NFKC",  # the 'fi' ligature
        f"{marker}\u2126": "NFKC",  # OHM SIGN, NFKC: Greek capital omega
    }

    def check(case: str) -> tuple[str, str]:
        with pytest.raises(InvalidArgument) as caught:
            registry.create_registered_model(case, actor=OWNER)
        message = str(caught.value)
        assert "model name" in message, message
        return ("ok" if cases[case] in message else message), "ok"

    assert_cases(check, cases)
    assert registry.search_registered_models(f"{marker}%").models == []


def test_names_differing_only_by_case_or_form_are_one_model(registry: RegistryStore) -> None:
    name = unique("Fraud")
    registry.create_registered_model(name, actor=OWNER)
    for other in (name.lower(), name.upper(), name.replace("F", "\uff26")):
        if other == name:
            continue
        with pytest.raises((AlreadyExists, InvalidArgument)) as caught:
            registry.create_registered_model(other, actor=OWNER)
        assert name in str(caught.value) or "NFKC" in str(caught.value), caught.value
    with pytest.raises(AlreadyExists, match="differ only by case"):
        registry.create_registered_model(name.lower(), actor=OWNER)
    assert [m.name for m in registry.search_registered_models(name).models] == [name]


def test_actor_must_be_a_name(registry: RegistryStore) -> None:
    name = unique("model")
    for actor in ("", "a\x00b", "x" * 251):
        with pytest.raises(InvalidArgument, match="actor"):
            registry.create_registered_model(name, actor=actor)
    with pytest.raises(NotFound):
        registry.get_registered_model(name)


def test_search_by_pattern_and_pages(registry: RegistryStore) -> None:
    prefix = unique("search")
    names = [f"{prefix}-{i:02d}" for i in range(7)]
    for name in reversed(names):
        registry.create_registered_model(name, actor=OWNER)
    registry.create_registered_model(f"other-{prefix}", actor=OWNER)

    everything = registry.search_registered_models(f"{prefix}%", max_results=100)
    assert [m.name for m in everything.models] == names
    assert everything.next_page_token is None
    # case-insensitive, with '_' as a one-character wildcard
    upper = registry.search_registered_models(f"{prefix.upper()}-0_", max_results=100)
    assert [m.name for m in upper.models] == names

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = registry.search_registered_models(f"{prefix}%", max_results=3, page_token=token)
        seen += [m.name for m in page.models]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == names and pages == 3

    with pytest.raises(InvalidArgument, match="page_token"):
        registry.search_registered_models(page_token="bm9wZQ")
    with pytest.raises(InvalidArgument, match="max_results"):
        registry.search_registered_models(max_results=0)


def test_update_description(registry: RegistryStore, model: str) -> None:
    updated = registry.update_registered_model(model, description="v2 notes", actor=REVIEWER)
    assert updated.description == "v2 notes"
    assert updated.updated >= updated.created
    registry.update_registered_model(model, description="v2 notes", actor=REVIEWER)  # no change
    records = registry.list_audit(model, action="model.update").records
    assert len(records) == 1
    assert (records[0].before, records[0].after) == (
        {"description": ""},
        {"description": "v2 notes"},
    )
    assert records[0].actor == REVIEWER
    with pytest.raises(InvalidArgument, match="description: must not contain NUL"):
        registry.update_registered_model(model, description="a\x00", actor=OWNER)


def test_tags_set_replace_and_delete(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_tag(model, "team", "risk", actor=OWNER)
    registry.set_registered_model_tag(model, "team", "fraud", actor=OWNER)
    registry.set_registered_model_tag(model, "tier", "1", actor=OWNER)
    assert registry.get_registered_model(model).tags == {"team": "fraud", "tier": "1"}
    registry.delete_registered_model_tag(model, "tier", actor=OWNER)
    assert registry.get_registered_model(model).tags == {"team": "fraud"}
    with pytest.raises(NotFound, match="tag 'tier'"):
        registry.delete_registered_model_tag(model, "tier", actor=OWNER)
    with pytest.raises(InvalidArgument, match="tag key"):
        registry.set_registered_model_tag(model, "../x", "v", actor=OWNER)
    tag_records = [
        (a.action.value, a.before, a.after)
        for a in registry.list_audit(model).records
        if a.action.value.startswith("model.tag")
    ]
    assert tag_records == [
        ("model.tag.set", None, {"key": "team", "value": "risk"}),
        ("model.tag.set", {"key": "team", "value": "risk"}, {"key": "team", "value": "fraud"}),
        ("model.tag.set", None, {"key": "tier", "value": "1"}),
        ("model.tag.delete", {"key": "tier", "value": "1"}, None),
    ]


def test_delete_waits_until_no_version_is_aliased(
    registry: RegistryStore, model: str, source: str
) -> None:
    new_version(registry, model, source)
    new_version(registry, model, source)
    registry.set_alias(model, "champion", 2, actor=OWNER)
    with pytest.raises(Conflict, match="champion -> 2"):
        registry.delete_registered_model(model, actor=OWNER)
    assert registry.get_model_version(model, 2).aliases == ["champion"]

    registry.delete_alias(model, "champion", actor=OWNER)
    registry.delete_registered_model(model, actor=REVIEWER)
    with pytest.raises(NotFound):
        registry.get_registered_model(model)
    with pytest.raises(NotFound):
        registry.get_model_version(model, 1)
    # The audit trail outlives the model.
    records = registry.list_audit(model).records
    assert records[-1].action.value == "model.delete"
    assert records[-1].actor == REVIEWER
    assert records[-1].before is not None and records[-1].before["versions"] == 2
    # The name is free again, and numbering starts over for the new model.
    registry.create_registered_model(model, actor=OWNER)
    assert new_version(registry, model, source).version == 1

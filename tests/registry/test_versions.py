"""Model versions: numbering, sources, updates, status changes and tags, on every store."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from conftest import unique
from keel.artifacts.hashing import hash_bytes
from keel.entities.registry import ModelVersionStatus
from keel.errors import Conflict, CorruptData, InvalidArgument, NotFound
from keel.store import RegistryStore, TrackingStore
from keel.uri import parse_run_artifact_uri
from registry.conftest import MakeSource
from registry.support import (
    HASH,
    MANIFEST,
    OWNER,
    REVIEWER,
    SIGNATURE,
    audit_actions,
    kind_of,
    manifest,
    new_version,
)
from store.support import assert_cases


def test_versions_number_from_one_per_model(
    registry: RegistryStore, model: str, source: str
) -> None:
    other = unique("model")
    registry.create_registered_model(other, actor=OWNER)
    made = [new_version(registry, model, source) for _ in range(3)]
    assert [v.version for v in made] == [1, 2, 3]
    assert new_version(registry, other, source).version == 1

    v1 = made[0]
    run_id = source.split("/")[1]
    assert (v1.name, v1.source, v1.run_id, v1.content_hash) == (model, source, run_id, HASH)
    assert v1.status is ModelVersionStatus.PENDING_REVIEW
    assert (v1.created_by, v1.aliases, v1.tags, v1.signature) == (OWNER, [], {}, None)
    assert registry.get_model_version(model, 1) == v1
    assert audit_actions(registry, model) == ["model.create"] + ["version.create"] * 3


def test_all_fields_are_kept(
    registry: RegistryStore, model: str, source: str, make_source: MakeSource
) -> None:
    new_version(registry, model, source)
    signed = make_source(content=manifest(SIGNATURE))
    v2 = new_version(
        registry,
        model,
        signed + "/",  # a trailing '/' names the same folder
        run_id=signed.split("/")[1],
        description="retrained",
        parent_version=1,
        tags={"dataset": "2024-06"},
    )
    assert v2.source == signed
    # The signature is read from the package's manifest, as JSON text.
    signature = json.dumps(SIGNATURE.to_dict(), sort_keys=True)
    assert (v2.signature, v2.description, v2.parent_version) == (signature, "retrained", 1)
    assert v2.content_hash == f"blake3:{hash_bytes(manifest(SIGNATURE))}" != HASH
    assert v2.tags == {"dataset": "2024-06"}
    assert registry.get_model_version(model, 2) == v2
    record = registry.list_audit(model, action="version.create").records[-1]
    assert record.version == 2 and record.after is not None
    assert record.after["source"] == signed and record.after["parent_version"] == 1
    assert record.after["content_hash"] == v2.content_hash


def test_concurrent_creations_get_distinct_numbers(
    registry: RegistryStore, model: str, source: str
) -> None:
    threads, per_thread = 4, 5
    barrier = threading.Barrier(threads)
    got: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            try:
                got.append(new_version(registry, model, source).version)
            except BaseException as exc:
                errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert errors == []
    assert sorted(got) == list(range(1, threads * per_thread + 1))
    page = registry.search_model_versions(model, max_results=100)
    assert [v.version for v in page.versions] == list(range(threads * per_thread, 0, -1))


def test_a_registration_can_create_its_model(registry: RegistryStore, source: str) -> None:
    name = unique("model")
    with pytest.raises(NotFound, match="no such model"):
        new_version(registry, name, source)
    made = [new_version(registry, name, source, create_model=True) for _ in range(2)]
    assert [v.version for v in made] == [1, 2]
    assert registry.get_registered_model(name).description == ""
    assert audit_actions(registry, name) == ["model.create", "version.create", "version.create"]
    with pytest.raises(InvalidArgument, match="create_model"):
        new_version(registry, name, source, create_model="yes")


def test_concurrent_registrations_create_the_model_once(
    registry: RegistryStore, source: str
) -> None:
    name, threads = unique("model"), 4
    barrier = threading.Barrier(threads)
    got: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            got.append(new_version(registry, name, source, create_model=True).version)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert errors == []
    assert sorted(got) == list(range(1, threads + 1))
    assert audit_actions(registry, name) == ["model.create"] + ["version.create"] * threads


def bad_sources(run_id: str, canary: Path) -> dict[str, str]:
    """Every refused source form -> a phrase its error must contain."""
    run = f"runs:/{run_id}"
    return {
        f"file://{canary}": "must be runs:/",
        f"file://{canary.parent}": "must be runs:/",
        f"http://evil.example/{run_id}/model": "must be runs:/",
        f"https://evil.example/{run_id}/model": "must be runs:/",
        "s3://bucket/model": "must be runs:/",
        "gs://bucket/model": "must be runs:/",
        str(canary.parent): "must be runs:/",
        "model": "must be runs:/",
        "./model": "must be runs:/",
        "../model": "must be runs:/",
        f"runs://{run_id}/model": "run id",
        f"runs:/{run_id.upper()}/model": "run id",
        f"runs:/{run_id[:-1]}/model": "run id",
        "runs:/../model": "run id",
        f"{run}": "artifact root",
        f"{run}/": "artifact root",
        f"{run}/{canary}": "relative",
        f"{run}/../model": "'..'",
        f"{run}/model/../../x": "'..'",
        f"{run}/./model": "'.'",
        f"{run}/model\\keel": "'\\'",
        f"{run}/..\\model": "'\\'",
        f"{run}/model\x00": "NUL",
        f"{run}/%2e%2e/model": "'..'",
        f"{run}/%2E%2E%2Fmodel": "'..'",
        f"{run}/%252e%252e/model": "'..'",
        f"{run}/model%5Ckeel": "'\\'",
        f"{run}/model%00": "NUL",
        f"{run}/%2Fetc/passwd": "relative",
        f"{run}/model//x": "empty segments",
        f"{run}/C:/model": "relative",
        f"{run}/~/model": "relative",
    }


def test_every_bad_source_is_refused_and_nothing_is_created(
    registry: RegistryStore, model: str, make_source: MakeSource, tmp_path: Path
) -> None:
    source = make_source()
    run_id = source.split("/")[1]
    # A canary that would look like a model if any of these forms were followed.
    canary = tmp_path / "canary" / "keel-model.json"
    canary.parent.mkdir()
    canary.write_bytes(MANIFEST)
    before = canary.stat()
    assert new_version(registry, model, source).version == 1
    cases = bad_sources(run_id, canary)

    def check(bad: str) -> tuple[str, str]:
        with pytest.raises(InvalidArgument) as caught:
            new_version(registry, model, bad)
        message = str(caught.value)
        return ("ok" if "source" in message and cases[bad] in message else message), "ok"

    assert_cases(check, cases)
    # Nothing was created, no number was used, nothing was audited, the canary untouched.
    assert [v.version for v in registry.search_model_versions(model).versions] == [1]
    assert audit_actions(registry, model) == ["model.create", "version.create"]
    assert new_version(registry, model, source).version == 2
    after = canary.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_the_source_must_hold_a_model(
    registry: RegistryStore, model: str, make_source: MakeSource
) -> None:
    source = make_source("model")
    run_id = source.split("/")[1]
    not_a_model = make_source("plots", marker="loss.png")
    for bad in (not_a_model, f"runs:/{run_id}/other", f"{source}/keel-model.json"):
        with pytest.raises(InvalidArgument, match="not a model"):
            new_version(registry, model, bad)
    with pytest.raises(NotFound, match="no such run"):
        new_version(registry, model, f"runs:/{'0' * 32}/model")
    with pytest.raises(InvalidArgument, match="run_id"):
        new_version(registry, model, source, run_id="f" * 32)
    nested = make_source("models/fraud/v1")
    assert new_version(registry, model, nested).source == nested
    assert [v.version for v in registry.search_model_versions(model).versions] == [1]


def stored_manifests() -> dict[str, tuple[bytes, str]]:
    """Every manifest that is not one -> a phrase its error must contain."""
    good = json.loads(MANIFEST)

    def variant(**changes: object) -> bytes:
        return json.dumps({**good, **changes}).encode()

    return {
        "empty object": (b"{}", "format_version"),
        "not JSON": (b"{not json", "not valid JSON"),
        "a list": (b"[1, 2]", "not a JSON object"),
        "NaN": (MANIFEST.replace(b'"created": 1700000000000', b'"created": NaN'), "NaN"),
        "format 2": (variant(format_version=2), "format_version must be 1"),
        "format true": (variant(format_version=True), "format_version"),
        "flavor": (variant(flavor="onnx"), "flavor"),
        "files": (variant(files=["model.skops"]), "files"),
        "file digest": (variant(files={"m": {"size": 1, "blake3": "x"}}), "files 'm'"),
        "file size": (variant(files={"m": {"size": -1, "blake3": "ab" * 32}}), "files 'm'"),
        "signature": (variant(signature="amount"), "signature"),
    }


def test_the_version_digest_is_derived_from_the_stored_manifest(
    registry: RegistryStore, model: str, make_source: MakeSource
) -> None:
    source = make_source()
    v1 = new_version(registry, model, source)
    assert (v1.content_hash, v1.signature) == (HASH, None)
    with pytest.raises(TypeError, match="content_hash"):
        new_version(registry, model, source, content_hash="blake3:" + "f" * 64)
    with pytest.raises(TypeError, match="signature"):
        new_version(registry, model, source, signature='{"inputs": []}')
    cases = stored_manifests()
    sources = {case: make_source(content=content) for case, (content, _) in cases.items()}

    def check(case: str) -> tuple[str, str]:
        with pytest.raises(InvalidArgument) as caught:
            new_version(registry, model, sources[case])
        message = str(caught.value)
        wanted = ("not a model manifest", cases[case][1], sources[case])
        return ("ok" if all(w in message for w in wanted) else message), "ok"

    assert_cases(check, cases)
    assert [v.version for v in registry.search_model_versions(model).versions] == [1]


def test_a_registered_manifest_is_immutable_and_a_new_one_gives_its_new_digest(
    registry: RegistryStore, model: str, make_source: MakeSource
) -> None:
    source = make_source()
    run_id = source.split("/")[1]
    assert new_version(registry, model, source).content_hash == HASH
    assert new_version(registry, model, source).content_hash == HASH
    signed = manifest(SIGNATURE)
    # What a version points at cannot be replaced (the run is still RUNNING here).
    with pytest.raises(Conflict, match=r"part of model .* version 1 .* immutable"):
        make_source(content=signed, run_id=run_id)
    assert new_version(registry, model, source).content_hash == HASH
    other = make_source("model-2", content=signed, run_id=run_id)
    v4 = new_version(registry, model, other)
    assert v4.content_hash == f"blake3:{hash_bytes(signed)}"
    assert v4.signature == json.dumps(SIGNATURE.to_dict(), sort_keys=True)


def test_a_manifest_changed_in_storage_is_refused(
    registry: RegistryStore, store: TrackingStore, model: str, make_source: MakeSource
) -> None:
    if kind_of(registry) == "rest":
        pytest.skip("the server's artifact root is not this test's to change")
    source = make_source()
    where = parse_run_artifact_uri(source)
    stored = Path(store.get_run(where.run_id).info.artifact_uri) / where.manifest_path
    stored.write_bytes(MANIFEST.replace(b"3.11.7", b"3.11.8"))  # same size, other bytes
    with pytest.raises(CorruptData, match="does not match the digest recorded"):
        new_version(registry, model, source)
    stored.unlink()
    with pytest.raises(CorruptData, match="missing from the artifact store"):
        new_version(registry, model, source)
    assert registry.search_model_versions(model).versions == []


def test_bad_fields_are_refused(registry: RegistryStore, model: str, source: str) -> None:
    cases = {
        "parent 0": ({"parent_version": 0}, "parent_version"),
        "tag key": ({"tags": {"a\nb": "x"}}, "tag key"),
        "description": ({"description": "x\x00"}, "description"),
        "actor": ({"actor": ""}, "actor"),
    }

    def check(case: str) -> tuple[str, str]:
        fields, phrase = cases[case]
        with pytest.raises(InvalidArgument) as caught:
            new_version(registry, model, source, **fields)
        return ("ok" if phrase in str(caught.value) else str(caught.value)), "ok"

    assert_cases(check, cases)
    with pytest.raises(NotFound, match="version 7"):
        new_version(registry, model, source, parent_version=7)
    with pytest.raises(NotFound, match="no such model"):
        new_version(registry, unique("missing"), source)
    assert registry.search_model_versions(model).versions == []


def test_unknown_versions_are_not_found(registry: RegistryStore, model: str) -> None:
    with pytest.raises(NotFound, match=f"version 1 of model '{model}'"):
        registry.get_model_version(model, 1)
    with pytest.raises(NotFound, match="no such model"):
        registry.get_model_version(unique("missing"), 1)
    for call in (
        lambda: registry.update_model_version(model, 1, description="x", actor=OWNER),
        lambda: registry.set_model_version_tag(model, 1, "k", "v", actor=OWNER),
        lambda: registry.list_checks(model, 1),
        lambda: registry.record_check(model, 1, "acc", True, actor=OWNER),
        lambda: registry.set_alias(model, "champion", 1, actor=OWNER),
        lambda: registry.create_promotion_request(model, 1, "champion", actor=OWNER),
    ):
        with pytest.raises(NotFound, match="no such version"):
            call()
    for bad in (0, -1, True, "1", 2**31):
        with pytest.raises(InvalidArgument, match="version"):
            registry.get_model_version(model, bad)  # type: ignore[arg-type]


def test_search_by_status_and_pages(registry: RegistryStore, model: str, source: str) -> None:
    for _ in range(5):
        new_version(registry, model, source)
    registry.update_model_version(model, 2, status="ARCHIVED", actor=OWNER)
    registry.update_model_version(model, 4, status=ModelVersionStatus.ARCHIVED, actor=OWNER)
    archived = registry.search_model_versions(model, status="ARCHIVED")
    assert [v.version for v in archived.versions] == [4, 2]
    pending = registry.search_model_versions(model, status=ModelVersionStatus.PENDING_REVIEW)
    assert [v.version for v in pending.versions] == [5, 3, 1]
    seen, token = [], None
    while True:
        page = registry.search_model_versions(model, max_results=2, page_token=token)
        seen += [v.version for v in page.versions]
        if (token := page.next_page_token) is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    with pytest.raises(InvalidArgument, match="status: must be one of"):
        registry.search_model_versions(model, status="LIVE")


def test_update_description_and_status(registry: RegistryStore, model: str, source: str) -> None:
    new_version(registry, model, source)
    v = registry.update_model_version(model, 1, description="better", actor=REVIEWER)
    assert v.description == "better" and v.updated >= v.created
    v = registry.update_model_version(model, 1, status="ARCHIVED", actor=OWNER)
    assert v.status is ModelVersionStatus.ARCHIVED
    v = registry.update_model_version(model, 1, status="PENDING_REVIEW", actor=OWNER)
    assert v.status is ModelVersionStatus.PENDING_REVIEW
    for decision in ("APPROVED", "REJECTED"):
        with pytest.raises(InvalidArgument, match="review decision"):
            registry.update_model_version(model, 1, status=decision, actor=OWNER)
    with pytest.raises(InvalidArgument, match=r"status: .*PENDING_REVIEW"):  # REST: a 422
        registry.update_model_version(model, 1, status="DONE", actor=OWNER)
    assert registry.get_model_version(model, 1).status is ModelVersionStatus.PENDING_REVIEW
    updates = registry.list_audit(model, action="version.update").records
    assert [(a.actor, a.before, a.after) for a in updates] == [
        (REVIEWER, {"description": ""}, {"description": "better"}),
        (OWNER, {"status": "PENDING_REVIEW"}, {"status": "ARCHIVED"}),
        (OWNER, {"status": "ARCHIVED"}, {"status": "PENDING_REVIEW"}),
    ]


def test_an_aliased_version_cannot_be_archived(
    registry: RegistryStore, model: str, source: str
) -> None:
    new_version(registry, model, source)
    registry.set_alias(model, "staging", 1, actor=OWNER)
    with pytest.raises(Conflict, match="staging"):
        registry.update_model_version(model, 1, status="ARCHIVED", actor=OWNER)
    assert registry.get_model_version(model, 1).status is ModelVersionStatus.PENDING_REVIEW


def test_version_tags(registry: RegistryStore, model: str, source: str) -> None:
    new_version(registry, model, source, tags={"a": "1"})
    registry.set_model_version_tag(model, 1, "b", "2", actor=OWNER)
    registry.set_model_version_tag(model, 1, "a", "3", actor=OWNER)
    assert registry.get_model_version(model, 1).tags == {"a": "3", "b": "2"}
    registry.delete_model_version_tag(model, 1, "a", actor=OWNER)
    assert registry.get_model_version(model, 1).tags == {"b": "2"}
    with pytest.raises(NotFound, match="tag 'a' of version 1"):
        registry.delete_model_version_tag(model, 1, "a", actor=OWNER)
    actions = audit_actions(registry, model)
    assert actions[-3:] == ["version.tag.set", "version.tag.set", "version.tag.delete"]

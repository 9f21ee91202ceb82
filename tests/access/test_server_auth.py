"""Authentication and roles on a real ``keel server`` whose users were made with the CLI
(see ``conftest.py`` for who holds which role where)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from access.conftest import Team
from access.test_routes import app_routes, is_api
from keel.config import Settings
from keel.server.app import create_app
from registry.support import MANIFEST
from server.support import API, assert_error

RUN_ID = "0" * 32

FULL_WIDTH_ALICE = "".join(chr(ord(c) + 0xFEE0) for c in "alice")
"""ａｌｉｃｅ: NFKC makes it alice."""  # noqa: RUF001


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def every_api_route(tmp_path: Path) -> list[tuple[str, str]]:
    """(METHOD, path) of every API route, its parameters filled with plausible values."""
    app = create_app(Settings(home=tmp_path))
    values = {"run_id": RUN_ID, "experiment_id": "1", "version": "1", "request_id": "1"}
    found = []
    for route in app_routes(app):
        if is_api(route):
            path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), route.path)
            found.extend((method, path) for method in route.methods)
    return sorted(found)


def test_no_token_is_401_json_on_every_api_route(team: Team, tmp_path: Path) -> None:
    routes = every_api_route(tmp_path)
    assert len(routes) > 70
    # X-Keel-User is no credential: it changes nothing.
    with team.client(None, **{"X-Keel-User": "root"}) as api:
        for method, path in routes:
            r = api.request(method, path, json={})
            assert_error(r, 401, "token")
            assert r.json()["error"]["code"] == "unauthenticated", (method, path)
            assert r.headers["www-authenticate"] == "Bearer", (method, path)
        assert api.get("/health").status_code == 200  # the probe stays public


@pytest.mark.parametrize(
    "header", ["Basic cm9vdDpyb290", "Bearer", "Bearer keel_00_not-a-token", "keel_x"]
)
def test_a_malformed_or_unknown_token_is_401(team: Team, header: str) -> None:
    with team.client(None, Authorization=header) as api:
        assert_error(api.get(f"{API}/experiments"), 401)


def _model_with_version(api: httpx.Client) -> str:
    """A registered model with version 1, made by ``api``'s principal."""
    r = api.post(f"{API}/experiments", json={"name": unique("exp")})
    assert r.status_code == 201, r.text
    r = api.post(f"{API}/runs", json={"experiment_id": r.json()["experiment_id"], "run_name": "r"})
    assert r.status_code == 201, r.text
    run_id = r.json()["info"]["run_id"]
    r = api.put(
        f"{API}/runs/{run_id}/artifacts/content",
        params={"path": "model/keel-model.json"},
        content=MANIFEST,
    )
    assert r.status_code == 201, r.text
    name = unique("model")
    r = api.post(
        f"{API}/registered-models/{name}/versions",
        json={"source": f"runs:/{run_id}/model", "create_model": True},
    )
    assert r.status_code == 201, r.text
    return name


def _request(api: httpx.Client, name: str) -> int:
    r = api.post(
        f"{API}/registered-models/{name}/promotion-requests",
        json={"version": 1, "alias": "champion"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_alice_cannot_approve_her_own_request_even_as_bob(team: Team) -> None:
    with team.client("alice") as alice, team.client("alice", **{"X-Keel-User": "bob"}) as posing:
        name = _model_with_version(alice)
        request_id = _request(posing, name)
        # The request is Alice's, whatever header she sent.
        assert alice.get(f"{API}/promotion-requests/{request_id}").json()["requested_by"] == "alice"
        r = posing.post(f"{API}/promotion-requests/{request_id}/decision", json={"approve": True})
        assert_error(r, 403)
        assert alice.get(f"{API}/registered-models/{name}/aliases/champion").status_code == 404
    with team.client("bob") as bob:
        r = bob.post(f"{API}/promotion-requests/{request_id}/decision", json={"approve": True})
        assert r.status_code == 200, r.text
        assert r.json()["reviewer"] == "bob"


def test_a_reader_reads_and_cannot_write(team: Team) -> None:
    with team.client("alice") as alice, team.client("carol") as carol:
        exp = alice.post(f"{API}/experiments", json={"name": unique("exp")}).json()
        exp_id = exp["experiment_id"]
        assert carol.get(f"{API}/experiments/{exp_id}").status_code == 200
        message = assert_error(carol.post(f"{API}/experiments", json={"name": unique("e")}), 403)
        assert "editor" in message and "carol" in message
        assert_error(
            carol.post(f"{API}/runs", json={"experiment_id": exp_id, "run_name": "r"}), 403
        )
        run_id = alice.post(f"{API}/runs", json={"experiment_id": exp_id, "run_name": "r"}).json()[
            "info"
        ]["run_id"]
        batch = {"batch_id": uuid.uuid4().hex, "runs": [{"run_id": run_id, "params": {"a": "1"}}]}
        assert_error(carol.post(f"{API}/writes", json=batch), 403)
        assert carol.get(f"{API}/runs/{run_id}").json()["data"]["params"] == {}


def test_an_editor_writes_and_cannot_review_or_delete(team: Team) -> None:
    with team.client("eddie") as eddie:
        name = _model_with_version(eddie)  # editing: allowed
        request_id = _request(eddie, name)
        for method, path, body in (
            ("POST", f"/promotion-requests/{request_id}/decision", {"approve": True}),
            (
                "POST",
                f"/registered-models/{name}/versions/1/checks",
                {"check": "review", "passed": True},
            ),
            ("PUT", f"/registered-models/{name}/alias-policies/champion", {"required_checks": []}),
            ("DELETE", f"/registered-models/{name}", None),
        ):
            message = assert_error(eddie.request(method, API + path, json=body), 403)
            assert "maintainer" in message, message
    with team.client("ci") as ci:  # a service account: the editor it was granted
        assert ci.get(f"{API}/registered-models/{name}").status_code == 200


def test_a_maintainer_of_one_project_cannot_touch_another(team: Team) -> None:
    with team.client("alice") as alice, team.client("erin") as erin, team.client("root") as root:
        mine = alice.post(f"{API}/experiments", json={"name": unique("a")}).json()["experiment_id"]
        theirs = alice.post(f"{API}/experiments", json={"name": unique("b")}).json()[
            "experiment_id"
        ]
        r = root.post(
            f"{API}/projects/team-a/resources", json={"kind": "experiment", "key": theirs}
        )
        assert r.status_code == 200, r.text
        # erin (team-a) reaches the moved experiment and nothing of the default project
        assert erin.get(f"{API}/experiments/{theirs}").status_code == 200
        assert (
            erin.post(f"{API}/runs", json={"experiment_id": theirs, "run_name": "r"}).status_code
            == 201
        )
        assert_error(erin.get(f"{API}/experiments/{mine}"), 403, "default")
        assert_error(erin.delete(f"{API}/experiments/{mine}"), 403)
        # and alice, maintainer of default, now nothing of it
        assert_error(alice.get(f"{API}/experiments/{theirs}"), 403, "team-a")
        assert_error(alice.delete(f"{API}/experiments/{theirs}"), 403)
        r = alice.post(f"{API}/runs/search", json={"experiment_ids": [mine, theirs]})
        assert_error(r, 403)


def test_revoked_token_is_refused_at_once(team: Team) -> None:
    with team.client("carol") as carol:
        r = carol.post(f"{API}/tokens", json={"name": "laptop"})
        assert r.status_code == 201, r.text
        issued = r.json()
        listed = carol.get(f"{API}/tokens").json()["tokens"]
        assert issued["token"] not in str(listed)  # shown once, never again
        assert all("token" not in t for t in listed)
    with team.client(None, Authorization=f"Bearer {issued['token']}") as laptop:
        assert laptop.get(f"{API}/whoami").json()["principal"]["name"] == "carol"
        r = laptop.delete(f"{API}/tokens/{issued['token_id']}")
        assert r.status_code == 200 and r.json()["revoked_at"], r.text
        assert_error(laptop.get(f"{API}/whoami"), 401, "revoked")


def test_expired_token_is_refused(team: Team) -> None:
    with team.client("carol") as carol:
        issued = carol.post(f"{API}/tokens", json={"expires_in_days": 1.5 / 86400}).json()
    with team.client(None, Authorization=f"Bearer {issued['token']}") as short:
        assert short.get(f"{API}/whoami").status_code == 200
        time.sleep(1.6)
        assert_error(short.get(f"{API}/whoami"), 401, "expired")


def test_rotation_keeps_the_old_token_for_the_grace_period(team: Team) -> None:
    with team.client("eddie") as eddie:
        old = eddie.post(f"{API}/tokens", json={"name": "ci"}).json()
    with team.client(None, Authorization=f"Bearer {old['token']}") as before:
        r = before.post(f"{API}/tokens/{old['token_id']}/rotate", json={"grace_seconds": 1.5})
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["name"] == "ci" and new["token"] != old["token"]
        assert before.get(f"{API}/whoami").status_code == 200  # within the grace period
        with team.client(None, Authorization=f"Bearer {new['token']}") as after:
            assert after.get(f"{API}/whoami").json()["principal"]["name"] == "eddie"
            time.sleep(1.6)
            assert_error(before.get(f"{API}/whoami"), 401, "expired")
            assert after.get(f"{API}/whoami").status_code == 200


def test_only_admins_manage_users_projects_and_others_tokens(team: Team) -> None:
    with team.client("alice") as alice, team.client("root") as root:
        for method, path, body in (
            ("GET", "/users", None),
            ("POST", "/users", {"name": "mallory", "admin": True}),
            ("POST", "/projects", {"name": "mine"}),
            ("PUT", "/projects/default/grants/alice", {"role": "admin"}),
            ("GET", "/tokens?principal=bob", None),
            ("POST", "/tokens", {"principal": "bob"}),
        ):
            assert_error(alice.request(method, API + path, json=body), 403, "admin")
        bob_tokens = root.get(f"{API}/tokens", params={"principal": "bob"}).json()["tokens"]
        assert bob_tokens and all(t["principal"] == "bob" for t in bob_tokens)
        assert_error(alice.delete(f"{API}/tokens/{bob_tokens[0]['token_id']}"), 403)
        # Alice, ALICE and the full-width form are one principal.
        r = root.post(f"{API}/users", json={"name": FULL_WIDTH_ALICE.upper()})
        assert_error(r, 409, "taken")


def test_disabling_a_user_stops_its_tokens(team: Team) -> None:
    with team.client("root") as root:
        created = root.post(f"{API}/users", json={"name": unique("temp")}).json()
        name, token = created["principal"]["name"], created["token"]["token"]
        with team.client(None, Authorization=f"Bearer {token}") as temp:
            assert temp.get(f"{API}/whoami").status_code == 200
            assert root.post(f"{API}/users/{name}/disable").json()["disabled"] is True
            assert_error(temp.get(f"{API}/whoami"), 401, "disabled")


def test_a_role_granted_to_a_group_reaches_its_members(team: Team) -> None:
    group = unique("g")
    with team.client("root") as root, team.client("carol") as carol:
        exp = root.post(f"{API}/experiments", json={"name": unique("grp")}).json()
        exp_id = exp["experiment_id"]
        r = root.post(
            f"{API}/projects/team-a/resources", json={"kind": "experiment", "key": exp_id}
        )
        assert r.status_code == 200, r.text
        assert_error(
            carol.post(f"{API}/runs", json={"experiment_id": exp_id, "run_name": "r"}), 403
        )
        assert root.post(f"{API}/groups", json={"name": group}).status_code == 201
        assert root.put(
            f"{API}/projects/team-a/group-grants/{group}", json={"role": "editor"}
        ).json()["group"]
        assert root.put(f"{API}/groups/{group}/members/carol").status_code == 204
        r = carol.post(f"{API}/runs", json={"experiment_id": exp_id, "run_name": "r"})
        assert r.status_code == 201, r.text  # at once: the change went through this server
        assert root.delete(f"{API}/groups/{group}/members/carol").status_code == 204
        assert_error(
            carol.post(f"{API}/runs", json={"experiment_id": exp_id, "run_name": "r"}), 403
        )


def test_an_experiment_made_in_a_project_needs_a_role_there(team: Team, tmp_path: Path) -> None:
    from keel import Client

    settings = Settings(home=tmp_path)
    with Client(team.server.url, token=team.tokens["erin"], settings=settings) as erin:
        exp_id = erin.create_experiment(unique("team"), project="team-a")
        assert erin.create_run(exp_id).info.experiment_id == exp_id
    with team.client("erin") as erin_api, team.client("alice") as alice:
        assert_error(erin_api.post(f"{API}/experiments", json={"name": unique("d")}), 403)
        r = alice.post(f"{API}/experiments", json={"name": unique("t"), "project": "team-a"})
        assert_error(r, 403, "team-a")
        r = alice.post(f"{API}/experiments", json={"name": unique("t"), "project": "nope"})
        assert_error(r, 404, "nope")


def test_lists_show_what_their_reader_may_read(team: Team) -> None:
    with team.client("alice") as alice, team.client("erin") as erin, team.client("root") as root:
        public = alice.post(f"{API}/experiments", json={"name": unique("pub")}).json()
        private = erin.post(f"{API}/experiments", json={"name": unique("prv"), "project": "team-a"})
        assert private.status_code == 201, private.text
        ids = {
            who: {e["experiment_id"] for e in api.get(f"{API}/experiments").json()["experiments"]}
            for who, api in (("alice", alice), ("erin", erin), ("root", root))
        }
        assert public["experiment_id"] in ids["alice"] - ids["erin"]
        assert private.json()["experiment_id"] in ids["erin"] - ids["alice"]
        assert {public["experiment_id"], private.json()["experiment_id"]} <= ids["root"]
        model = _model_with_version(alice)
        assert model in {m["name"] for m in alice.get(f"{API}/registered-models").json()["models"]}
        erin_models = erin.get(f"{API}/registered-models").json()["models"]
        assert model not in {m["name"] for m in erin_models}
        _request(alice, model)
        assert all(
            r["name"] != model for r in erin.get(f"{API}/promotion-requests").json()["requests"]
        )
        assert any(
            r["name"] == model for r in alice.get(f"{API}/promotion-requests").json()["requests"]
        )
        assert all(r["name"] != model for r in erin.get(f"{API}/audit").json()["records"])
        with team.client("carol") as carol:  # a reader of default: no audit there
            assert all(r["name"] != model for r in carol.get(f"{API}/audit").json()["records"])
            assert_error(carol.get(f"{API}/audit", params={"name": model}), 403, "maintainer")


def test_a_name_is_judged_as_the_route_reads_it(team: Team) -> None:
    """``x%41`` (percent-encoded once more on the wire) is not ``xA``: a guard that decoded
    the path again would judge erin's model and let her delete alice's."""
    suffix = uuid.uuid4().hex[:6]
    with team.client("alice") as alice, team.client("erin") as erin, team.client("root") as root:
        assert (
            alice.post(f"{API}/registered-models", json={"name": f"{suffix}%41"}).status_code == 201
        )
        assert root.post(f"{API}/registered-models", json={"name": f"{suffix}A"}).status_code == 201
        r = root.post(
            f"{API}/projects/team-a/resources", json={"kind": "model", "key": f"{suffix}A"}
        )
        assert r.status_code == 200, r.text
        assert erin.get(f"{API}/registered-models/{suffix}A").status_code == 200
        assert_error(erin.delete(f"{API}/registered-models/{suffix}%2541"), 403, "default")
        assert alice.get(f"{API}/registered-models/{suffix}%2541").json()["name"] == f"{suffix}%41"


_VERSION = {
    "digest": "0" * 64,
    "manifest": "",
    "kind": "file",
    "file_count": 0,
    "total_bytes": 0,
    "source": "test",
}
"""A dataset version's body, well formed (its project is judged before its content)."""


def test_dataset_objects_need_a_role_on_some_project(team: Team) -> None:
    from keel.artifacts.hashing import hash_bytes

    content = uuid.uuid4().bytes * 8
    digest = hash_bytes(content)
    with team.client("carol") as carol, team.client("erin") as erin:
        assert_error(carol.put(f"{API}/dataset-objects/{digest}", content=content), 403, "editor")
        r = erin.put(f"{API}/dataset-objects/{digest}", content=content)  # editor of team-a
        assert r.status_code == 201, r.text
        assert carol.get(f"{API}/dataset-objects/{digest}").content == content
        # a dataset's versions belong to its project: erin cannot add one to default's
        r = erin.post(f"{API}/datasets/{unique('ds')}/versions", json=_VERSION)
        assert_error(r, 403, "default")


@pytest.mark.parametrize("number", [2**63, 2**64, -(2**63) - 1])
def test_ids_past_64_bits_in_paths_are_404_for_a_signed_in_caller(team: Team, number: int) -> None:
    """Found by the API fuzzer: the permission guard looked up the project of experiment
    or promotion request ``number`` in the database, which overflowed (500)."""
    with team.client("root") as api:
        assert_error(api.get(f"{API}/experiments/{number}"), 404, "experiment")
        assert_error(api.get(f"{API}/promotion-requests/{number}"), 400, "request id")
    with team.client("carol") as api:
        assert_error(api.get(f"{API}/experiments/{number}"), 404, "experiment")

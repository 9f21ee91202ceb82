"""``keel users``, ``tokens``, ``projects`` and ``groups`` against a database, as run on
the server's machine: output, exit codes, and secrets printed once."""

from __future__ import annotations

import json
from pathlib import Path

from access.conftest import create_user, keel, keel_fails, runner
from keel.cli.main import build_app


def test_the_commands_on_a_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keel.db'}"
    token = create_user(db, "Root", "--admin")
    assert token.startswith("keel_")
    created = keel("users", "create", "ci", "--service-account", "-t", db)
    assert "created service account 'ci'" in created and "shown once" in created
    users = json.loads(keel("users", "list", "--json", "-t", db))
    assert [(u["name"], u["kind"], u["is_admin"]) for u in users] == [
        ("ci", "service_account", False),
        ("root", "user", True),
    ]

    made = json.loads(
        keel("tokens", "create", "--user", "ci", "--name", "deploy", "--json", "-t", db)
    )
    listed = keel("tokens", "list", "--user", "ci", "-t", db)
    assert made["token_id"] in listed and made["token"] not in listed
    rotated = json.loads(
        keel("tokens", "rotate", made["token_id"], "--grace", "0", "--json", "-t", db)
    )
    assert rotated["name"] == "deploy" and rotated["token"] != made["token"]
    assert "revoked token" in keel("tokens", "revoke", rotated["token_id"], "-t", db)

    keel("projects", "create", "fraud", "-t", db)
    keel("groups", "create", "data-team", "-t", db)
    keel("groups", "add", "data-team", "ci", "-t", db)
    assert "group 'data-team' is editor" in keel(
        "projects", "grant", "fraud", "data-team", "editor", "--group", "-t", db
    )
    keel("projects", "grant", "fraud", "root", "maintainer", "-t", db)
    found = json.loads(keel("projects", "list", "--json", "-t", db))
    assert [p["name"] for p in found["projects"]] == ["default", "fraud"]
    assert [(g["principal"], g["role"], g["group"]) for g in found["grants"]] == [
        ("root", "maintainer", False),
        ("data-team", "editor", True),
    ]
    groups = json.loads(keel("groups", "list", "--json", "-t", db))
    assert groups[0]["members"] == ["ci"]
    assert "disabled 'ci'" in keel("users", "disable", "CI", "-t", db)


def test_bad_input_is_one_clear_line_and_changes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keel.db'}"
    create_user(db, "alice")
    assert "the name is taken" in keel_fails("users", "create", "ALICE", "-t", db)
    assert "role: must be one of reader, editor, maintainer, admin" in keel_fails(
        "projects", "grant", "default", "alice", "owner", "-t", db
    )
    assert "--user" in keel_fails("tokens", "create", "-t", db)
    error = keel_fails("users", "create", "bad name", "-t", db)
    assert error.startswith("error: user name 'bad name'") and error.count("\n") == 1
    result = runner.invoke(build_app("users"), ["users", "list", "--json", "-t", db])
    assert [u["name"] for u in json.loads(result.output)] == ["alice"]

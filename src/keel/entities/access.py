"""Identity and access: principals (users and service accounts), API tokens, projects and
the grants of a role on a project. Plain types and their rules; no I/O.

Roles are ordered: ``reader < editor < maintainer < admin``; a role includes every
role below it. A principal marked admin holds the admin role on every project.

>>> Role.EDITOR.includes(Role.READER)
True
>>> canonical_name("Alice ")
'alice'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from keel.entities.rules import check_choice
from keel.errors import InvalidArgument

MAX_PRINCIPAL_NAME = 64
DEFAULT_PROJECT = "default"
"""The project every experiment, registered model and dataset belongs to unless another
is named; made by the schema, never deleted."""
DEFAULT_PROJECT_ID = 1

# Letters, digits and . _ - after NFKC and lower-casing; at most 64, starting with a
# letter or digit. Narrow on purpose: a name is an identity that people compare by eye.
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")


class Role(StrEnum):
    READER = "reader"
    EDITOR = "editor"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        """Whether holding this role gives everything ``other`` gives."""
        return self.rank >= other.rank

    @classmethod
    def parse(cls, value: object) -> Role:
        return check_choice(cls, value, "role")


_RANKS = {Role.READER: 1, Role.EDITOR: 2, Role.MAINTAINER: 3, Role.ADMIN: 4}


class PrincipalKind(StrEnum):
    USER = "user"
    SERVICE_ACCOUNT = "service_account"


def canonical_name(value: object, field: str = "name") -> str:
    """A principal's or project's name as stored and compared: NFKC-normalised, lower
    case, surrounding spaces removed. ``Alice``, ``alice`` and its full-width form are one
    name; a name with invisible characters, or anything but letters, digits and
    ``. _ -``, is refused (it would let two names look the same)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(value).__name__}")
    if _INVISIBLE.search(value):
        raise InvalidArgument(f"{field} {value!r}: must not contain invisible characters")
    name = unicodedata.normalize("NFKC", value).strip().lower()
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"{field} {value!r}: must be 1 to {MAX_PRINCIPAL_NAME} letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a user or a service account (for CI and services)."""

    id: int
    name: str
    kind: PrincipalKind
    is_admin: bool
    created: int
    disabled: bool


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as stored: never its secret. ``token_id`` is the public part of the
    token (``keel_<token_id>_<secret>``) and names it in lists and commands."""

    token_id: str
    principal_id: int
    principal: str
    name: str
    created: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None

    def is_valid(self, now: int) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made: the only time its ``secret`` (the whole token string) exists
    outside its owner's hands."""

    token: ApiToken
    secret: str


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    description: str
    created: int
    quota_bytes: int | None = None
    """Bytes its uploads (run artifacts, dataset objects) may hold; ``None``: no limit."""
    used_bytes: int = 0
    """Bytes they hold, counted as each upload is recorded."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A role on a project, held by a principal or (``to_group``) by every member of a
    group; a principal's role is the highest it holds either way."""

    project: str
    principal: str
    """The principal's name, or the group's with ``to_group``."""
    role: Role
    created: int
    to_group: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """Principals that roles are granted to together (a team)."""

    name: str
    created: int
    members: tuple[str, ...]

"""Users, service accounts, tokens, projects and grants: the rules, over the access store.

The CLI (``keel users``, ``keel tokens``, ``keel projects``) and the server's routes both
go through :class:`AccessService`, so a name is checked and a token made the same way
whoever asks.

>>> with open_access("sqlite:////srv/keel.db", Settings.from_env()) as access:  # doctest: +SKIP
...     admin, issued = access.create_principal("alice", admin=True)
>>> issued.secret   # shown once; only its hash is stored                     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from keel.access.tokens import hash_token, new_token
from keel.entities.access import (
    DEFAULT_PROJECT,
    ApiToken,
    Grant,
    Group,
    IssuedToken,
    Principal,
    PrincipalKind,
    Project,
    Role,
    canonical_name,
)
from keel.entities.quota import parse_size
from keel.entities.rules import check_name, check_text
from keel.errors import InvalidArgument

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.store.rest.access import RestAccess
    from keel.store.sql.access import SqlAccessStore

DEFAULT_GRACE_SECONDS = 24 * 3600
"""How long a rotated token keeps working beside its replacement, by default."""
MAX_TOKEN_DAYS = 3650
RESOURCE_KINDS = ("experiment", "model", "dataset", "deployment")


def now_ms() -> int:
    return int(time.time() * 1000)


class AccessService:
    def __init__(
        self,
        store: SqlAccessStore,
        *,
        clock: Callable[[], int] = now_ms,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        # Called after a change that may take rights away (a revocation, a disabled
        # principal, a grant changed): the server empties its caches.
        self._on_change = on_change or (lambda: None)

    # principals ------------------------------------------------------------------------

    def create_principal(
        self,
        name: str,
        *,
        admin: bool = False,
        service_account: bool = False,
        token_name: str = "first token",
        expires_in_days: float | None = None,
    ) -> tuple[Principal, IssuedToken]:
        """A new user (or service account) and its first API token."""
        kind = PrincipalKind.SERVICE_ACCOUNT if service_account else PrincipalKind.USER
        principal = self.store.create_principal(
            canonical_name(name, "user name"), kind=kind, is_admin=admin, now=self._clock()
        )
        return principal, self.issue_token(
            principal.name, name=token_name, expires_in_days=expires_in_days
        )

    def list_principals(self) -> list[Principal]:
        return self.store.list_principals()

    def get_principal(self, name: str) -> Principal:
        return self.store.get_principal(canonical_name(name, "user name"))

    def set_disabled(self, name: str, disabled: bool = True) -> Principal:
        found = self.store.set_disabled(
            canonical_name(name, "user name"), disabled, now=self._clock()
        )
        self._on_change()
        return found

    def has_principals(self) -> bool:
        return self.store.has_principals()

    # tokens ----------------------------------------------------------------------------

    def issue_token(
        self, principal: str | None, *, name: str = "token", expires_in_days: float | None = None
    ) -> IssuedToken:
        """A new token for ``principal``; its secret is in the result and nowhere else."""
        if principal is None:
            raise InvalidArgument(
                "user: name whose token this is (--user); against the database there is no "
                "logged-in user"
            )
        owner = self.get_principal(principal)
        now = self._clock()
        token_id, secret = new_token()
        stored = self.store.add_token(
            owner.id,
            token_id=token_id,
            token_hash=hash_token(secret),
            name=check_name("token name", name),
            now=now,
            expires_at=_expiry(now, expires_in_days),
        )
        return IssuedToken(stored, secret)

    def rotate_token(
        self, token_id: str, *, grace_seconds: float = DEFAULT_GRACE_SECONDS
    ) -> IssuedToken:
        """A new token for the same principal and name; the old one keeps working for
        ``grace_seconds`` more (0: it stops now), so services can switch without a gap."""
        if grace_seconds < 0:
            raise InvalidArgument(f"grace: must be 0 or more seconds, got {grace_seconds}")
        old = self.store.get_token(token_id)
        now = self._clock()
        if not old.is_valid(now):
            raise InvalidArgument(f"token {token_id!r}: revoked or expired; create a new one")
        new_id, secret = new_token()
        lifetime = None if old.expires_at is None else old.expires_at - old.created
        stored = self.store.add_token(
            old.principal_id,
            token_id=new_id,
            token_hash=hash_token(secret),
            name=old.name,
            now=now,
            expires_at=None if lifetime is None else now + lifetime,
            replaces=(old.token_id, now + int(grace_seconds * 1000)),
        )
        self._on_change()
        return IssuedToken(stored, secret)

    def revoke_token(self, token_id: str) -> ApiToken:
        found = self.store.revoke_token(token_id, now=self._clock())
        self._on_change()
        return found

    def get_token(self, token_id: str) -> ApiToken:
        return self.store.get_token(token_id)

    def list_tokens(self, principal: str | None = None) -> list[ApiToken]:
        owner = None if principal is None else canonical_name(principal, "user name")
        return self.store.list_tokens(owner)

    # projects and grants -----------------------------------------------------------------

    def create_project(self, name: str, *, description: str = "") -> Project:
        return self.store.create_project(
            canonical_name(name, "project name"),
            description=check_text("description", description),
            now=self._clock(),
        )

    def set_quota(self, project: str, quota: int | str | None) -> Project:
        """Set ``project``'s storage quota: bytes, or a size such as ``10GiB``; ``None``
        (or ``none``/``unlimited``) lifts it. Uploads through a server past it get 413."""
        if isinstance(quota, str) and quota.strip().lower() in ("none", "unlimited"):
            quota = None
        return self.store.set_quota(
            canonical_name(project, "project name"),
            None if quota is None else parse_size(quota),
            now=self._clock(),
        )

    def list_projects(self) -> list[Project]:
        return self.store.list_projects()

    def get_project(self, name: str) -> Project:
        return self.store.get_project(canonical_name(name, "project name"))

    def delete_project(self, name: str) -> None:
        self.store.delete_project(canonical_name(name, "project name"), now=self._clock())
        self._on_change()

    def grant(
        self, project: str, principal: str, role: str | Role, *, group: bool = False
    ) -> Grant:
        """Grant ``role`` on ``project`` to a principal, or with ``group`` to a group;
        it replaces the role that one held there."""
        project_name = canonical_name(project, "project name")
        role = Role.parse(role)
        if group:
            found = self.store.set_group_grant(
                project_name, canonical_name(principal, "group name"), role, now=self._clock()
            )
        else:
            found = self.store.set_grant(
                project_name, canonical_name(principal, "user name"), role, now=self._clock()
            )
        self._on_change()
        return found

    def revoke_grant(self, project: str, principal: str, *, group: bool = False) -> None:
        project_name = canonical_name(project, "project name")
        if group:
            self.store.delete_group_grant(
                project_name, canonical_name(principal, "group name"), now=self._clock()
            )
        else:
            self.store.delete_grant(
                project_name, canonical_name(principal, "user name"), now=self._clock()
            )
        self._on_change()

    # groups ------------------------------------------------------------------------------

    def create_group(self, name: str) -> Group:
        return self.store.create_group(canonical_name(name, "group name"), now=self._clock())

    def list_groups(self) -> list[Group]:
        return self.store.list_groups()

    def delete_group(self, name: str) -> None:
        self.store.delete_group(canonical_name(name, "group name"), now=self._clock())
        self._on_change()

    def add_member(self, group: str, principal: str) -> None:
        self.store.set_member(
            canonical_name(group, "group name"),
            canonical_name(principal, "user name"),
            member=True,
            now=self._clock(),
        )
        self._on_change()

    def remove_member(self, group: str, principal: str) -> None:
        self.store.set_member(
            canonical_name(group, "group name"),
            canonical_name(principal, "user name"),
            member=False,
            now=self._clock(),
        )
        self._on_change()

    def list_grants(self, project: str | None = None) -> list[Grant]:
        return self.store.list_grants(
            None if project is None else canonical_name(project, "project name")
        )

    def move(self, kind: str, key: str, project: str = DEFAULT_PROJECT) -> Project:
        """Place an experiment (by id), a registered model or a dataset (by name) in
        ``project``; its runs, versions and dataset versions go with it."""
        if kind not in RESOURCE_KINDS:
            raise InvalidArgument(f"kind: must be one of {', '.join(RESOURCE_KINDS)}, got {kind!r}")
        found = self.store.move(
            kind, key, canonical_name(project, "project name"), now=self._clock()
        )
        self._on_change()
        return found


def _expiry(now: int, days: float | None) -> int | None:
    if days is None:
        return None
    if not 0 < days <= MAX_TOKEN_DAYS:
        raise InvalidArgument(
            f"expires in: must be more than 0 and at most {MAX_TOKEN_DAYS} days, got {days}"
        )
    return now + int(days * 86_400_000)


@contextmanager
def open_access(uri: str, settings: Settings) -> Iterator[AccessService | RestAccess]:
    """Access management for the store ``uri`` names: the service over its database
    (migrated if behind), or the server's API with the caller's token for a
    ``keel server``. Closed on leaving the block."""
    from keel.store import open_backend

    with open_backend(uri, settings) as backend:
        if backend.remote:
            yield backend.access_api
        else:
            yield AccessService(backend.access)

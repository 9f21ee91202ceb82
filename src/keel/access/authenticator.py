"""Who a bearer token belongs to and what they may do, with the answers cached.

A request costs one SHA-256 and dictionary look-ups while its token's entry is fresh
(``ttl`` seconds, 30 by default): the token's row, its principal and the principal's
roles are read together on a miss and kept together. Changes made through this process
(:meth:`Authenticator.invalidate`, which the access service calls) take effect at once;
changes made elsewhere (the CLI on the database, another worker) within ``ttl``.
``last_used_at`` is written at most once a minute per token, not per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keel.access.tokens import hash_token
from keel.entities.access import DEFAULT_PROJECT_ID, Principal, Role
from keel.entities.rules import int_id
from keel.errors import Unauthenticated

if TYPE_CHECKING:
    from keel.store.sql.access import SqlAccessStore

TOUCH_EVERY_MS = 60_000
OPEN_RECHECK_SECONDS = 2.0
"""While no principal exists, how often the server looks again (a first user made with
the CLI on a running server turns authentication on within this time)."""
MAX_CACHED = 50_000


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Identity:
    """An authenticated principal, as the cache holds it."""

    principal: Principal
    token_id: str
    expires_at: int | None
    roles: dict[int, Role]
    """Role by project id, from the principal's grants."""
    loaded: float
    touched: int | None = None

    def role_on(self, project_id: int) -> Role | None:
        if self.principal.is_admin:
            return Role.ADMIN
        return self.roles.get(project_id)


class Authenticator:
    def __init__(
        self,
        store: SqlAccessStore,
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], int] = _now_ms,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._identities: dict[str, Identity] = {}
        self._projects: dict[tuple[str, str], tuple[int | None, float]] = {}
        self._enabled = False
        self._checked_at = -1e18

    # on or off ---------------------------------------------------------------------------

    def enabled_cached(self) -> bool | None:
        """Whether authentication is on, if known without asking the database."""
        if self._enabled:
            return True
        if self._clock() - self._checked_at < OPEN_RECHECK_SECONDS:
            return False
        return None

    def enabled(self) -> bool:
        """On as soon as one principal exists, and from then on for this process."""
        known = self.enabled_cached()
        if known is not None:
            return known
        found = self.store.has_principals()
        self._checked_at = self._clock()
        if found:
            self._enabled = True
        return found

    # tokens --------------------------------------------------------------------------------

    def cached(self, token: str) -> Identity | None:
        """The token's identity if a fresh, valid one is cached (no I/O)."""
        found = self._identities.get(hash_token(token))
        if found is None or self._clock() - found.loaded > self.ttl:
            return None
        if found.expires_at is not None and self._wall() >= found.expires_at:
            return None
        return found

    def authenticate(self, token: str) -> Identity:
        """The token's identity, read from the database on a miss; ``Unauthenticated``
        for a token that is unknown, revoked, expired, or whose principal is disabled."""
        digest = hash_token(token)
        found = self.cached(token)
        if found is None:
            row = self.store.token_by_hash(digest)
            now = self._wall()
            if row is None:
                raise Unauthenticated("API token: not known to this server")
            stored, principal = row
            if stored.revoked_at is not None and stored.revoked_at <= now:
                raise Unauthenticated(f"API token {stored.token_id}: revoked")
            if stored.expires_at is not None and now >= stored.expires_at:
                raise Unauthenticated(f"API token {stored.token_id}: expired")
            if principal.disabled:
                raise Unauthenticated(f"principal {principal.name!r}: disabled")
            found = Identity(
                principal=principal,
                token_id=stored.token_id,
                expires_at=stored.expires_at,
                roles=self.store.roles_of(principal.id),
                loaded=self._clock(),
                touched=stored.last_used_at,
            )
            with self._lock:
                if len(self._identities) >= MAX_CACHED:
                    self._identities.clear()
                self._identities[digest] = found
        self.touch(found)
        return found

    def needs_touch(self, identity: Identity) -> bool:
        return identity.touched is None or self._wall() - identity.touched >= TOUCH_EVERY_MS

    def touch(self, identity: Identity) -> None:
        """Record the token's use, at most once a minute."""
        if self.needs_touch(identity):
            now = self._wall()
            identity.touched = now
            self.store.touch_token(identity.token_id, now=now)

    # projects ------------------------------------------------------------------------------

    def project_cached(self, kind: str, key: str) -> tuple[bool, int | None]:
        """``(known, project_id)`` for a resource, from the cache alone."""
        found = self._projects.get((kind, key))
        if found is None or self._clock() - found[1] > self.ttl:
            return False, None
        return True, found[0]

    def project_of(self, kind: str, key: str) -> int:
        """The project of an experiment, run, model, promotion request or dataset; the
        default project for one that does not exist (yet): creating it, or the 404 that
        follows, is then judged on the default project."""
        known, project_id = self.project_cached(kind, key)
        if not known:
            if kind == "run":
                project_id = self.store.project_of_run(key)
            elif kind == "request":
                request_id = int_id(key)
                model = None if request_id is None else self.store.model_of_request(request_id)
                project_id = None if model is None else self.store.project_of("model", model)
            else:
                project_id = self.store.project_of(kind, key)
            if project_id is not None:  # one not there yet may be made in a moment
                with self._lock:
                    if len(self._projects) >= MAX_CACHED:
                        self._projects.clear()
                    self._projects[(kind, key)] = (project_id, self._clock())
        return DEFAULT_PROJECT_ID if project_id is None else project_id

    def project_name(self, project_id: int) -> str:
        for project in self.store.list_projects():
            if project.id == project_id:
                return project.name
        return str(project_id)

    def forget(self, kind: str, key: str) -> None:
        """Forget a resource's project: it was deleted, and its name may come back."""
        with self._lock:
            self._projects.pop((kind, key), None)

    def invalidate(self) -> None:
        """Forget everything cached: a token was revoked, a grant or a project changed."""
        with self._lock:
            self._identities.clear()
            self._projects.clear()

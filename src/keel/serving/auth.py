"""Who may ask a model server for predictions.

While the store has no users the server is open (and binds to loopback only, unless
``--insecure-no-auth``). Once it has one, ``/predict``, ``/invocations``, the V2 ``infer``
route and ``/feedback`` need ``Authorization: Bearer <token>`` of a principal holding
``deployment:predict`` (the reader role) on the project of the model served (the default
project for a deployment). Tokens are checked by the same cached
:class:`keel.access.authenticator.Authenticator` as ``keel server``'s: one SHA-256 and a
dictionary look-up while the token's entry is fresh.

A model server over a ``keel server`` URI cannot read tokens (they live in the server's
database): it is open, and loopback-only without ``--insecure-no-auth``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from keel.access.permissions import permission
from keel.entities.access import DEFAULT_PROJECT_ID
from keel.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from keel.access.authenticator import Authenticator

log = logging.getLogger("keel.serving")
PREDICT = permission("deployment:predict")


class PredictAuth:
    def __init__(self, authenticator: Authenticator | None, project: tuple[str, str] | None):
        """``project``: (kind, key) of the resource whose project the permission is
        checked on, ``("model", "fraud")``; ``None`` for the default project."""
        self.auth = authenticator
        self.project = project
        self._enabled = False

    def enabled_now(self) -> bool | None:
        """Whether tokens are needed, if known without I/O."""
        if self.auth is None:
            return False
        if self._enabled:
            return True
        return self.auth.enabled_cached()

    def refresh_enabled(self) -> bool:
        """Ask the store (blocking). A store out of reach keeps what was known."""
        assert self.auth is not None
        try:
            self._enabled = self.auth.enabled()
        except Exception as exc:
            log.warning("keel serve: could not read the store's users: %s", exc)
        return self._enabled

    def check(self, authorization: str | None, *, blocking_ok: bool) -> None:
        """``Unauthenticated`` (401) or ``Forbidden`` (403); returns when allowed. With
        ``blocking_ok`` false it answers from the cache and raises ``LookupError`` when it
        needs the database (call it again in a thread)."""
        assert self.auth is not None
        if not authorization:
            raise Unauthenticated("no API token: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Authorization: use the Bearer scheme with an API token")
        identity = self.auth.cached(token)
        if identity is None:
            if not blocking_ok:
                raise LookupError(token)
            identity = self.auth.authenticate(token)
        project_id = DEFAULT_PROJECT_ID
        if self.project is not None:
            known, cached = self.auth.project_cached(*self.project)
            if known:
                project_id = DEFAULT_PROJECT_ID if cached is None else cached
            elif not blocking_ok:
                raise LookupError(token)
            else:
                project_id = self.auth.project_of(*self.project)
        held = identity.role_on(project_id)
        if held is None or not held.includes(PREDICT.role):
            raise Forbidden(
                f"{PREDICT.name}: needs the {PREDICT.role.value} role on the model's project; "
                f"{identity.principal.name!r} has {held.value if held else 'no role'} there"
            )

"""Who may ask a model server for predictions.

While the store has no users the server is open (and binds to loopback only, unless
``--insecure-no-auth``). Once it has one, ``/predict``, ``/invocations``, the V2 ``infer``
route and ``/feedback`` need ``Authorization: Bearer <token>`` of a principal holding
``deployment:predict`` (the reader role) on the project of the deployment served, or of
the model for ``keel serve models:/...``. Three checkers, by what the server stands on:

- :class:`OpenAuth`: a package folder served without a store; nothing to check against.
- :class:`StoreAuth`: a database (SQLite, PostgreSQL). Tokens are checked by the same
  cached :class:`keel.access.authenticator.Authenticator` as ``keel server``'s: one
  SHA-256 and a dictionary look-up while the token's entry is fresh.
- :class:`ServerAuth`: a ``keel server``, which keeps the tokens. For a token not seen
  within ``KEEL_AUTH_CACHE_SECONDS`` it asks the server (``GET /api/v1/deployments/{name}
  /access``, or ``/registered-models/{name}/access``) with the caller's own
  ``Authorization`` header, never the model server's, and keeps the answer, yes or no,
  that long (a bounded cache: a token revoked on the server is refused here within that
  time). A token it cannot check because the server does not answer is a 503: it fails
  closed. Whether the server has users is asked the same way, without a token, and
  looked at again in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from keel.access.permissions import permission
from keel.access.tokens import hash_token
from keel.entities.access import DEFAULT_PROJECT_ID
from keel.errors import Forbidden, KeelError, StoreUnavailable, Unauthenticated

if TYPE_CHECKING:
    from keel.access.authenticator import Authenticator
    from keel.config import Settings
    from keel.serving.host import ModelHost
    from keel.store.rest.access import CallerAccess

log = logging.getLogger("keel.serving")
PREDICT = permission("deployment:predict")
MAX_CACHED = 10_000
"""Tokens whose answers a :class:`ServerAuth` keeps; past it, the oldest go first."""
OPEN_RECHECK_SECONDS = 2.0
"""While the ``keel server`` has no users, how often a :class:`ServerAuth` asks again."""


class PredictAuth:
    """What the prediction routes ask: whether tokens are needed, and whether one may."""

    checks = True
    """False where nothing is ever checked (no store)."""

    def enabled_now(self) -> bool | None:
        """Whether tokens are needed, if known without I/O."""
        raise NotImplementedError

    def refresh_enabled(self) -> bool:
        """Ask the store (blocking). A store out of reach keeps what was known."""
        raise NotImplementedError

    def check(self, authorization: str | None, *, blocking_ok: bool) -> None:
        """``Unauthenticated`` (401), ``Forbidden`` (403) or ``StoreUnavailable`` (503);
        returns when allowed. With ``blocking_ok`` false it answers from the cache and
        raises ``LookupError`` when it needs I/O (call it again in a thread)."""
        raise NotImplementedError


class OpenAuth(PredictAuth):
    """A model package served without a store: no users, nothing to check."""

    checks = False

    def enabled_now(self) -> bool | None:
        return False

    def refresh_enabled(self) -> bool:
        return False

    def check(self, authorization: str | None, *, blocking_ok: bool) -> None:
        return None


def bearer_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``; ``Unauthenticated`` otherwise."""
    if not authorization:
        raise Unauthenticated("no API token: send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization: use the Bearer scheme with an API token")
    return token


class StoreAuth(PredictAuth):
    """Tokens checked against the store's database."""

    def __init__(self, authenticator: Authenticator, project: tuple[str, str]) -> None:
        """``project``: (kind, key) of the resource whose project the permission is
        checked on: ``("deployment", "fraud-api")`` or ``("model", "fraud")``."""
        self.auth = authenticator
        self.project = project
        self._enabled = False

    def enabled_now(self) -> bool | None:
        if self._enabled:
            return True
        return self.auth.enabled_cached()

    def refresh_enabled(self) -> bool:
        try:
            self._enabled = self.auth.enabled()
        except Exception as exc:
            log.warning("keel serve: could not read the store's users: %s", exc)
        return self._enabled

    def check(self, authorization: str | None, *, blocking_ok: bool) -> None:
        token = bearer_token(authorization)
        identity = self.auth.cached(token)
        if identity is None:
            if not blocking_ok:
                raise LookupError(token)
            identity = self.auth.authenticate(token)
        known, cached = self.auth.project_cached(*self.project)
        if known:
            project_id = DEFAULT_PROJECT_ID if cached is None else cached
        elif not blocking_ok:
            raise LookupError(token)
        else:
            project_id = self.auth.project_of(*self.project)
        held = identity.role_on(project_id)
        if held is None or not held.includes(PREDICT.role):
            kind = self.project[0]
            raise Forbidden(
                f"{PREDICT.name}: needs the {PREDICT.role.value} role on the {kind}'s project; "
                f"{identity.principal.name!r} has {held.value if held else 'no role'} there"
            )


class ServerAuth(PredictAuth):
    """Tokens checked by the ``keel server`` the model server's store is."""

    def __init__(
        self,
        access: CallerAccess,
        project: tuple[str, str],
        *,
        ttl: float,
        max_cached: int = MAX_CACHED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``project``: ``("deployment", name)`` or ``("model", name)``, what the server
        is asked about."""
        self.access = access
        self.project = project
        self.ttl = ttl
        self.max_cached = max_cached
        self._clock = clock
        self._lock = threading.Lock()
        # SHA-256 of the token -> (until when, the refusal or None when allowed)
        self._answers: OrderedDict[str, tuple[float, tuple[type[KeelError], str] | None]]
        self._answers = OrderedDict()
        self._enabled: bool | None = None
        self._checked_at = -1e18
        self._rechecking = False

    # on or off ---------------------------------------------------------------------------

    def enabled_now(self) -> bool | None:
        """Known after the first answer; while the server is open, looked at again in
        the background every :data:`OPEN_RECHECK_SECONDS` (no request waits for it)."""
        if self._enabled is False and self._clock() - self._checked_at >= OPEN_RECHECK_SECONDS:
            self._recheck_in_background()
        return self._enabled

    def refresh_enabled(self) -> bool:
        """On once the server refuses a request without a token, and from then on for
        this process. A server that does not answer changes nothing, but while nothing
        is known yet that is ``StoreUnavailable``: no request is let through unchecked."""
        self._checked_at = self._clock()
        if self._enabled:
            return True
        try:
            self._enabled = server_has_users(self.access, self.project)
        except Exception as exc:
            if self._enabled is None:
                raise StoreUnavailable(
                    f"could not ask the keel server whether it has users ({exc}); retry"
                ) from None
            log.warning("keel serve: could not ask the keel server about its users: %s", exc)
        return bool(self._enabled)

    def _recheck_in_background(self) -> None:
        with self._lock:
            if self._rechecking:
                return
            self._rechecking = True
            self._checked_at = self._clock()

        def recheck() -> None:
            try:
                self.refresh_enabled()
            finally:
                self._rechecking = False

        threading.Thread(target=recheck, name="keel-serve-auth", daemon=True).start()

    # tokens --------------------------------------------------------------------------------

    def check(self, authorization: str | None, *, blocking_ok: bool) -> None:
        token = bearer_token(authorization)
        key = hash_token(token)
        found = self._answers.get(key)
        if found is not None and found[0] > self._clock():
            _raise(found[1])
            return
        if not blocking_ok:
            raise LookupError(key)
        try:
            self.access.may_predict(*self.project, f"Bearer {token}")
            refusal = None
        except (Unauthenticated, Forbidden) as exc:
            refusal = (type(exc), exc.message)
        except StoreUnavailable as exc:
            raise StoreUnavailable(
                f"could not check the API token: the keel server does not answer ({exc}); retry"
            ) from None
        except KeelError as exc:  # a 429 or another answer that is no verdict: not cached
            raise StoreUnavailable(
                f"could not check the API token: the keel server answered {exc.message!r}; retry"
            ) from None
        self._remember(key, refusal)
        _raise(refusal)

    def _remember(self, key: str, refusal: tuple[type[KeelError], str] | None) -> None:
        with self._lock:
            self._answers[key] = (self._clock() + self.ttl, refusal)
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_cached:
                self._answers.popitem(last=False)

    @property
    def cached_tokens(self) -> int:
        return len(self._answers)


def server_has_users(
    access: CallerAccess, project: tuple[str, str] = ("deployment", "keel-serve")
) -> bool:
    """Whether the ``keel server`` has users: it then refuses a request without a token
    (an open one answers it, whatever the name asked about)."""
    try:
        access.may_predict(*project, None)
    except Unauthenticated:
        return True
    return False


def _raise(refusal: tuple[type[KeelError], str] | None) -> None:
    if refusal is not None:
        kind, message = refusal
        raise kind(message)


def predict_auth(host: ModelHost, settings: Settings) -> PredictAuth:
    """The checker for what ``host`` serves, on the store it stands on."""
    backend = host.backend
    if backend is None:
        return OpenAuth()
    if host.target.kind == "deployment":
        project = ("deployment", host.target.value)
    else:
        project = ("model", host.routing.models()[0].name)
    if backend.remote:
        return ServerAuth(backend.caller_access, project, ttl=settings.auth_cache_seconds)
    from keel.access.authenticator import Authenticator

    return StoreAuth(Authenticator(backend.access, ttl=settings.auth_cache_seconds), project)

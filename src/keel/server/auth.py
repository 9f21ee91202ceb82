"""Authentication and permissions on the server.

Every API request passes :func:`authenticate` (mounted once, on the ``/api/v1`` router):
it reads ``Authorization: Bearer <token>``, finds the principal (cached, see
:mod:`keel.access.authenticator`), applies the rate limit of the token and leaves a
:class:`Caller` on the request. Every API route then names its permission,
``Depends(requires("run:write"))``: the guard finds the project of the resource in the
path and checks the caller's role on it (``keel.access.permissions``).

While the store has no principal (a server on loopback, as in the quickstart) the server
is open: every request is allowed and the actor is the ``X-Keel-User`` header, as before.
Once one exists, ``X-Keel-User`` is ignored: the actor is the authenticated principal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from keel.access.authenticator import Authenticator, Identity
from keel.access.permissions import Permission, permission
from keel.entities.access import DEFAULT_PROJECT_ID, canonical_name
from keel.entities.rules import check_actor
from keel.errors import Forbidden, Unauthenticated

T = TypeVar("T")
ANONYMOUS = "anonymous"
LOGIN_HINT = "run `keel login <server URL>` or set KEEL_TRACKING_TOKEN to an API token"
PATH_KEYS = {
    "run": ("run_id", "run"),
    "experiment": ("experiment_id", "experiment"),
    "model": ("name", "model"),
    "dataset": ("name", "dataset"),
    "deployment": ("name", "deployment"),
}
"""For each resource a permission is about: the path parameter naming it, and the kind
of resource the authenticator resolves it as."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling. ``identity`` is ``None`` on an open server (no principals yet)."""

    name: str
    identity: Identity | None
    auth: Authenticator | None

    @property
    def open(self) -> bool:
        return self.identity is None

    def allows(self, needed: Permission, project_id: int) -> bool:
        """Whether the caller holds ``needed`` on the project (no I/O)."""
        if self.identity is None or needed.name == "self":
            return True
        if needed.name in ("admin", "maintenance"):
            return self.identity.principal.is_admin
        held = self.identity.role_on(project_id)
        return held is not None and held.includes(needed.role)

    def check(self, needed: Permission, project_id: int) -> None:
        """``Forbidden`` unless the caller holds ``needed`` on the project."""
        if self.identity is None:
            return
        principal = self.identity.principal
        if needed.name == "self":
            return
        if needed.name in ("admin", "maintenance"):
            if not principal.is_admin:
                raise Forbidden(
                    f"{needed.name}: only an admin may do this; {principal.name!r} is not"
                )
            return
        held = self.identity.role_on(project_id)
        if held is None or not held.includes(needed.role):
            assert self.auth is not None
            project = self.auth.project_name(project_id)
            raise Forbidden(
                f"{needed.name}: needs the {needed.role.value} role on project {project!r}; "
                f"{principal.name!r} has {held.value if held else 'no role'} there"
            )

    def check_anywhere(self, needed: Permission) -> None:
        """``Forbidden`` unless the caller holds ``needed``'s role on some project."""
        if self.identity is None or self.identity.principal.is_admin:
            return
        if not any(role.includes(needed.role) for role in self.identity.roles.values()):
            raise Forbidden(
                f"{needed.name}: needs the {needed.role.value} role on a project; "
                f"{self.identity.principal.name!r} has none that high"
            )

    def visible(self, name: str, kind: str, items: list[T], key: Callable[[T], object]) -> list[T]:
        """The ``items`` (experiments, models, datasets, or records naming one) on whose
        project the caller holds permission ``name``, in their order: a list shows what
        its reader may see, not everything on the server. Blocking: one query."""
        if self.identity is None or self.identity.principal.is_admin:
            return items
        needed = permission(name)
        allowed = {p for p, role in self.identity.roles.items() if role.includes(needed.role)}
        if not allowed or not items:
            return []
        assert self.auth is not None
        projects = self.auth.store.project_ids(kind)
        return [i for i in items if projects.get(str(key(i)), DEFAULT_PROJECT_ID) in allowed]

    def check_default(self, name: str) -> None:
        """Check ``name`` on the default project: for what belongs to no one resource."""
        self.check(permission(name), DEFAULT_PROJECT_ID)

    def check_in_project(self, name: str, project: str | None) -> None:
        """Check ``name`` on the project a body names for what it creates (the default
        project when it names none); ``NotFound`` for a project that does not exist.
        Blocking: call from a plain ``def`` route."""
        if project is None:
            self.check_default(name)
            return
        if self.identity is None:
            return  # open: the store still refuses a project that does not exist
        assert self.auth is not None
        found = self.auth.store.get_project(canonical_name(project, "project"))
        self.check(permission(name), found.id)

    def check_deployment(self, name: str, deployment: str) -> None:
        """Check ``name`` on the project of ``deployment`` (the default project for one
        that does not exist: creating it, or the 404 that follows, is judged there), for
        routes whose path names it otherwise than ``{name}``, or whose rows do. Blocking
        on a cache miss: call from a thread."""
        self.check_resources(name, "deployment", [deployment])

    def check_resources(self, name: str, kind: str, keys: Iterable[str]) -> None:
        """Check ``name`` on the project of each resource (``run`` ids, ``experiment``
        ids, ...): for routes whose resources are in the body. Blocking on a cache miss:
        call from a plain ``def`` route (FastAPI runs those in its thread pool)."""
        if self.identity is None:
            return
        assert self.auth is not None
        needed = permission(name)
        seen: set[int] = set()
        for key in keys:
            project_id = self.auth.project_of(kind, str(key))
            if project_id not in seen:
                seen.add(project_id)
                self.check(needed, project_id)


class Guard:
    """The dependency ``requires`` makes: one per route, holding the permission it names
    (the route-enumerating test looks for it)."""

    def __init__(self, needed: Permission, *, from_body: bool, anywhere: bool) -> None:
        self.permission = needed
        self.from_body = from_body
        self.anywhere = anywhere

    async def __call__(self, request: Request) -> Caller:
        caller: Caller = request.state.caller
        if caller.identity is None:
            if self.permission.name in ("self", "admin"):
                raise Forbidden(
                    f"{self.permission.name}: this server has no users yet; create the first "
                    "admin on its machine: keel users create NAME --admin -t <store URI>"
                )
            return caller  # open: no users, nothing to check against
        if self.from_body:
            return caller  # the route checks the resources its body names
        assert caller.auth is not None
        needed = self.permission
        if self.anywhere:
            caller.check_anywhere(needed)
            return caller
        # The path parameter exactly as the route receives it (decoded once, by the
        # router): decoding it again would judge one name and act on another.
        project_id = DEFAULT_PROJECT_ID
        params = request.path_params
        if needed.resource == "model" and "request_id" in params:
            project_id = await _project(caller.auth, "request", str(params["request_id"]))
        elif needed.resource in PATH_KEYS:
            param, kind = PATH_KEYS[needed.resource]
            if param in params:
                project_id = await _project(caller.auth, kind, str(params[param]))
        if not caller.allows(needed, project_id):  # the refusal names the project: a query
            await run_in_threadpool(caller.check, needed, project_id)
        return caller

    def __repr__(self) -> str:
        return f"requires({self.permission.name!r})"


async def _project(auth: Authenticator, kind: str, key: str) -> int:
    known, project_id = auth.project_cached(kind, key)
    if known:
        return DEFAULT_PROJECT_ID if project_id is None else project_id
    return await run_in_threadpool(auth.project_of, kind, key)


def requires(name: str, *, from_body: bool = False, anywhere: bool = False) -> Any:
    """The dependency of a route that needs permission ``name`` on the project of the
    resource its path names (``run_id``, ``experiment_id``, a model's or dataset's
    ``name``, a promotion ``request_id``), or on the default project when it names none.
    With ``from_body`` the route checks the resources its body names itself
    (``caller.check_resources``). With ``anywhere`` the role on any one project will do:
    for content-addressed dataset objects, which belong to no project. Use as
    ``caller: Annotated[Caller, requires(...)]`` or in ``dependencies=[requires(...)]``."""
    return Depends(Guard(permission(name), from_body=from_body, anywhere=anywhere))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization: use the Bearer scheme with an API token")
    return token.strip()


async def authenticate(request: Request) -> Caller:
    """Who is calling; ``Unauthenticated`` (401) when authentication is on and the request
    carries no valid token."""
    auth: Authenticator = request.app.state.auth
    enabled = auth.enabled_cached()
    if enabled is None:
        enabled = await run_in_threadpool(auth.enabled)
    if not enabled:
        header = request.headers.get("x-keel-user")
        name = check_actor(unquote(header), "X-Keel-User") if header else ANONYMOUS
        caller = Caller(name, None, None)
        request.state.caller = caller
        return caller
    try:
        token = _bearer(request)
        if token is None:
            raise Unauthenticated("no API token: send Authorization: Bearer <token>")
        identity = auth.cached(token)
        if identity is None or auth.needs_touch(identity):
            identity = await run_in_threadpool(auth.authenticate, token)
    except Unauthenticated as exc:  # every 401 says what to do about it
        raise Unauthenticated(f"{exc.message}; {LOGIN_HINT}") from None
    limiter: RateLimit | None = request.app.state.rate_limit
    if limiter is not None:
        limiter.hit(identity.token_id)
    caller = Caller(identity.principal.name, identity, auth)
    request.state.caller = caller
    return caller


async def request_actor(request: Request) -> str:
    """The acting principal's name (``X-Keel-User`` or ``anonymous`` on an open server)."""
    caller: Caller = request.state.caller
    return caller.name


class RateLimit:
    """Requests per token, in this process's memory: ``limits``' sliding window counter,
    a few microseconds a request and no burst of twice the rate where two windows meet."""

    def __init__(self, spec: str) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import SlidingWindowCounterRateLimiter

        self.item = parse(spec)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def hit(self, key: str) -> None:
        if self._limiter.hit(self.item, key):
            return
        reset = self._limiter.get_window_stats(self.item, key).reset_time
        retry = max(1, int(reset - time.time() + 0.999))
        raise HTTPException(
            429,
            f"rate limit: {self.item} requests for each API token; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def rate_limit(spec: str) -> RateLimit | None:
    """The limiter ``KEEL_RATE_LIMIT`` describes, or ``None`` for ``none``/``off``."""
    if spec.strip().lower() in ("none", "off", "0"):
        return None
    from keel.errors import InvalidArgument

    try:
        return RateLimit(spec)
    except ValueError as exc:
        raise InvalidArgument(
            f"KEEL_RATE_LIMIT {spec!r}: not a rate such as 100/second or 6000/minute ({exc})"
        ) from None


CallerDep = Annotated[Caller, Depends(authenticate)]

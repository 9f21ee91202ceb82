"""Who is acting, and in which request, for the audit records a store writes.

A store method that takes ``actor`` (the registry's, the datasets') records that name; the
tracking store's methods take none, so the audit record of a run or an experiment names
the actor bound here, and otherwise the store's own default (the local user). A server
binds the request's principal and ``X-Request-ID`` for the length of each request, and
every store records that request id beside the change.

>>> with acting("alice", request_id="req-1"):                       # doctest: +SKIP
...     store.delete_run(run_id)       # audited as alice, request req-1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Acting:
    actor: str | None
    request_id: str | None


_CURRENT: ContextVar[Acting | None] = ContextVar("keel_acting", default=None)


def bind(actor: str | None, request_id: str | None = None) -> None:
    """Bind for the rest of the current context (a server request's task)."""
    _CURRENT.set(Acting(actor, request_id))


@contextmanager
def acting(actor: str | None, *, request_id: str | None = None) -> Iterator[None]:
    token = _CURRENT.set(Acting(actor, request_id))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_actor(default: str) -> str:
    found = _CURRENT.get()
    return found.actor if found is not None and found.actor else default


def current_request_id() -> str | None:
    found = _CURRENT.get()
    return None if found is None else found.request_id

"""Who may talk to the server from a browser: the Host allow-list and the Origin check.

A web page can make a browser send requests to a developer's ``keel server`` on
loopback, either under a name the attacker controls that resolves to 127.0.0.1 (DNS
rebinding: the ``Host`` header carries the attacker's name) or straight at it (CSRF:
``Origin`` names the attacker's site). So

- a request whose ``Host`` is not an allowed name is refused (400), whatever it asks;
- a state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` is present and
  not an allowed host's is refused (403);
- a state-changing request with a body must say it is JSON, except an upload of bytes
  (415): the content types a page may send without asking first (``text/plain``, forms)
  never reach a route.

Allowed names: the loopback names, the address the server is bound to, and those
``--allowed-hosts`` / ``KEEL_ALLOWED_HOSTS`` add (``*``: any name, for a server behind a
proxy that checks them itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from keel.config import Settings
from keel.server.errors import error_response
from keel.server.limits import UPLOADS, Receive, Scope, Send
from keel.server.responses import JSON

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The host names the server answers to (lowercase, no port): the loopback names
    always, and those the settings add."""
    return frozenset(LOOPBACK_HOSTS) | frozenset(settings.allowed_hosts)


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header or an origin's netloc, without port or brackets;
    None when it cannot be read."""
    try:
        parsed = urlsplit(f"//{value}")
        name = parsed.hostname
        parsed.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    return name.lower() if name else None


class HostCheck:
    """ASGI middleware: the Host allow-list, then the Origin and content-type checks."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        allowed_hosts: frozenset[str],
    ) -> None:
        self.app = app
        self.any_host = ANY_HOST in allowed_hosts
        self.allowed = frozenset(h.lower() for h in allowed_hosts if h != ANY_HOST)

    def _allowed(self, name: str | None) -> bool:
        return name is not None and (self.any_host or name in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope.get("headers", ())}
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._allowed(host_name(host)):
            shown = host[:100] or "(none)"
            response = error_response(
                400,
                "invalid_host",
                f"Host {shown!r}: not a name this server answers to; start it with "
                "--allowed-hosts naming it (KEEL_ALLOWED_HOSTS)",
            )
            await response(scope, receive, send)
            return
        if scope["method"] in STATE_CHANGING:
            problem = self._state_change_problem(scope, headers)
            if problem is not None:
                await problem(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _state_change_problem(self, scope: Scope, headers: dict[bytes, bytes]) -> JSON | None:
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            parsed = urlsplit(text)
            if parsed.scheme not in ("http", "https") or not self._allowed(
                host_name(parsed.netloc)
            ):
                return error_response(
                    403,
                    "forbidden",
                    f"Origin {text[:100]!r}: a page from another site may not change this "
                    "server's data (add its host to --allowed-hosts if it is yours)",
                )
        has_body = b"transfer-encoding" in headers or headers.get(
            b"content-length", b"0"
        ).strip() not in (b"", b"0")
        if has_body and UPLOADS.fullmatch(scope["path"]) is None:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if media != b"application/json" and not media.endswith(b"+json"):
                shown = media.decode("latin-1") or "(none)"
                return error_response(
                    415,
                    "unsupported_media_type",
                    f"Content-Type {shown!r}: a request body must be JSON "
                    "(Content-Type: application/json)",
                )
        return None

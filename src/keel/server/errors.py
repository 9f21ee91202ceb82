"""Errors to HTTP, once: each Keel exception type has one status (``KeelError.status_code``)
and one body shape, ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from keel.errors import KeelError, Unauthenticated
from keel.server.responses import JSON
from keel.wire.errors import error_to_dict

log = logging.getLogger("keel.server")


def error_response(status: int, code: str, message: str) -> JSON:
    return JSON(error_to_dict(code, message), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KeelError)
    async def keel_error(_request: Request, exc: KeelError) -> JSON:
        if exc.status_code >= 500:
            log.error("%s: %s", type(exc).__name__, exc.message)
        response = error_response(exc.status_code, exc.code, exc.message)
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"  # a 401 names its scheme (RFC 9110)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSON:
        problems = []
        for error in exc.errors()[:10]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
        return error_response(422, "invalid_argument", "; ".join(problems))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSON:
        code = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            422: "invalid_argument",  # a body that does not match its schema
            429: "rate_limited",
        }.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})  # a 401's WWW-Authenticate, a 429's Retry-After
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; RFC 9110
            # wants every method the resource has (found by the API fuzzer).
            allowed = allowed_methods(_routes(request.app), request.scope["path"])
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSON:
        log.exception("unexpected error")
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")


def allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """The methods of the resource at ``path``, sorted (for a 405's ``Allow``): those of
    every route whose template matches it, the most concrete templates only, as OpenAPI
    matches paths (``/runs/reap`` is that route's, not ``/runs/{run_id}``'s)."""
    found: dict[int, set[str]] = {}
    for route in routes:
        methods = getattr(route, "methods", None)
        template = getattr(route, "path", None)
        if methods and isinstance(template, str) and _path_regex(template).match(path):
            found.setdefault(template.count("{"), set()).update(methods)
    return sorted(found[min(found)]) if found else []


@functools.lru_cache(maxsize=512)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def _routes(app: FastAPI) -> Iterable[Any]:
    """The app's routes with their full paths: FastAPI 0.16x keeps an included router as
    one entry of ``app.routes`` (``iter_route_contexts`` lists its routes)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies the routes into app.routes
        return list(app.routes)
    return list(iter_route_contexts(app.routes))

"""Errors on the wire: every error answer, and the last line of a stream that failed
after it began, is ``{"error": {"code": ..., "message": ...}}``. The server maps each Keel
exception type to its status once (``keel.server.errors``); the REST client maps the code
back to the type (``keel.errors.ERRORS_BY_CODE``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorPublic(BaseModel):
    error: ErrorBody


class StreamError(BaseModel):
    """The last line of a stream that failed after it began."""

    error: ErrorBody


def error_to_dict(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}

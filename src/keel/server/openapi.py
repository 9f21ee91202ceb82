"""What the OpenAPI document cannot learn from a route's signature: the body of a route
that reads its request itself (``openapi_extra=json_body(Model)``) and the error answers
every API route may give (``ERROR_RESPONSES``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema written out whole (the models it uses inlined), for places
    of the document that nothing else puts in its components."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref.removeprefix("#/$defs/")]), **inline(rest)}
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    found: dict[str, Any] = inline(schema)
    return found


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """For a route's ``openapi_extra``: its JSON body is ``model``."""
    content = {"application/json": {"schema": inline_schema(model)}}
    return {"requestBody": {"required": True, "content": content}}


def _error(description: str) -> dict[str, Any]:
    # The content is spelled out, not given as ``model``: FastAPI would file the model
    # under the route's own media type, and a stream's errors are JSON, not JSON lines.
    from keel.wire.errors import ErrorPublic

    schema = inline_schema(ErrorPublic)
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid argument: the message names the field and the rule"),
    401: _error("No valid API token (once the server has users)"),
    403: _error("The caller lacks the permission the route needs"),
    404: _error("No such resource"),
    409: _error("Already exists, or conflicts with the resource's state"),
    413: _error("The body or a value in it is too large"),
    422: _error("The request does not match its schema"),
    429: _error("Rate limit of the API token reached; see Retry-After"),
}
"""The error answers every API route may give, all in Keel's one shape
``{"error": {"code": ..., "message": ...}}`` (``keel.server.errors``). Declared on the
API router so the document says so: FastAPI would otherwise document its own 422 body,
which the server never sends, and no other error at all."""

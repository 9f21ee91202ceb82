"""JSON responses serialised with orjson, whole or streamed a line at a time."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import quote

import orjson
from fastapi.responses import JSONResponse, StreamingResponse


class JSON(JSONResponse):
    """A JSON response. A ``JSONResponse`` so that FastAPI documents each route's
    ``response_model`` as its body's schema: for any other response class it writes
    ``{"type": "string"}``, a document no client or fuzzer can check answers against."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class NDJSON(StreamingResponse):
    """One JSON object a line (``application/x-ndjson``), streamed."""

    media_type = "application/x-ndjson"

    @classmethod
    def openapi(cls, line: Any) -> dict[str, Any]:
        """For a route's ``openapi_extra``: the schema of one line (``line``, a model or a
        union of models that is also the route's ``response_model``, so that they are in
        the document's components), as OpenAPI's ``itemSchema`` of a sequential type."""
        models = get_args(line) or (line,)
        item = {"oneOf": [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]}
        return {"responses": {"200": {"content": {cls.media_type: {"itemSchema": item}}}}}


def download_headers(path: str) -> dict[str, str]:
    """Headers of a file sent as bytes: saved, never shown or run by a browser (a stored
    ``.html`` must not become a page on the server's origin), under its own name."""
    name = path.rsplit("/", 1)[-1] or "download"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200]
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }

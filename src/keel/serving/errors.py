"""Errors of a request to the model server, and the bodies they are answered with.

```
InvalidArgument (keel.errors)
├── BadRequest      the body cannot be read: not JSON, no known format, a field of the
│                   wrong kind; names what and where                          (HTTP 400)
└── Unprocessable   the body reads, but does not fit the model's signature; carries
                    every problem of the request at once in ``problems``      (HTTP 422)
```

Oversized bodies are ``keel.errors.PayloadTooLarge`` (413), raised by the runtime, which
owns the size limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keel.errors import InvalidArgument, KeelError

MAX_PROBLEMS = 100
"""At most this many problems are listed in one error (then how many more there were)."""


class BadRequest(InvalidArgument):
    """A body that cannot be read as the protocol says (HTTP 400)."""

    status_code = 400
    code = "bad_request"


class Unprocessable(InvalidArgument):
    """A request that reads but does not fit the model's signature (HTTP 422). ``problems``
    lists every one of them, each a sentence naming the column (and row) and the rule."""

    status_code = 422
    code = "schema_mismatch"

    def __init__(self, problems: Sequence[str]) -> None:
        listed = list(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            listed.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__("input does not match the model's signature: " + "; ".join(listed))
        self.problems = listed


def error_body(error: KeelError) -> dict[str, Any]:
    """Keel's answer for ``error``: ``{"error": {"code", "message"}}``, plus ``problems``
    (a list of sentences) for a 422."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, Unprocessable):
        body["problems"] = error.problems
    return {"error": body}


class UnsupportedMediaType(BadRequest):
    """A body in a format the protocol does not read (HTTP 415); names the ones it does."""

    status_code = 415
    code = "unsupported_media_type"

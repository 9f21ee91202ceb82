"""Streams between the network and blocking storage code, in bounded memory: request
bodies fed to a writer as they arrive, and long answers sent as JSON lines as they are
read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import Request
from starlette.background import BackgroundTask

from keel.errors import KeelError
from keel.server.responses import NDJSON
from keel.wire.errors import error_to_dict

_T = TypeVar("_T")
log = logging.getLogger("keel.server")


async def consume_body(request: Request, write: Callable[[Iterator[bytes]], _T]) -> _T:
    """Run ``write(chunks)`` in a worker thread, each chunk of the body fetched from the
    event loop as the writer asks for it."""
    body = request.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        try:
            return await body.__anext__()
        except StopAsyncIteration:
            return None

    def chunks() -> Iterator[bytes]:
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            yield chunk

    return await anyio.to_thread.run_sync(lambda: write(chunks()))


def json_lines(lines: Generator[dict[str, Any], None, None]) -> NDJSON:
    """A response of one JSON object a line, each produced (in a worker thread) as the
    client reads. Start ``lines`` before calling this, so that an error found at once
    (no such run) is still an error status.

    The status is sent before the lines, so an error later on cannot change it: it ends
    the stream with a line ``{"error": {"code", "message"}}`` instead of the line the
    stream's format ends with, and the client raises it. ``lines`` is closed when the
    response ends, read to the end or not, which releases what it holds (a database
    transaction)."""
    return NDJSON(_encoded(lines), background=BackgroundTask(lines.close))


def _encoded(lines: Generator[dict[str, Any], None, None]) -> Iterator[bytes]:
    dumps = orjson.dumps
    newline = orjson.OPT_APPEND_NEWLINE
    try:
        for line in lines:
            yield dumps(line, option=newline)
    except KeelError as exc:
        log.log(logging.ERROR if exc.status_code >= 500 else logging.INFO, "stream: %s", exc)
        yield dumps(error_to_dict(exc.code, exc.message), option=newline)
    except Exception as exc:
        log.exception("unexpected error in a streamed response")
        message = f"internal error: {type(exc).__name__}"
        yield dumps(error_to_dict("internal_error", message), option=newline)
    finally:
        lines.close()

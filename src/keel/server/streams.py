"""Request bodies streamed into blocking storage code without holding them in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
from fastapi import Request

_T = TypeVar("_T")


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

"""How deeply JSON may nest: a limit every stored document (a check's details, a dataset's
profile) and every request body meets.

A document nested a few hundred levels deep is accepted by most parsers but breaks the
encoders that later send it (orjson stops at 255 levels), so a single write could make
every later read fail. Limits are checked where a value enters: on the server's stream
(every request body) and in the rules the stores apply (``check_json_depth``).
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

from keel.errors import InvalidArgument

MAX_JSON_DEPTH = 32
"""Levels of objects and arrays a stored document may nest (``{"a": [1]}`` is 2)."""
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8
"""Levels a request body may nest: a stored document and the few levels of the request
that carries it (``{"details": ...}``, a batch's lists)."""

_NOT_BRACKETS_OR_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")


def body_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests deeper than ``limit``, found without parsing
    it, at C speed (a fraction of a parse): escaped backslashes and quotes are dropped,
    then all but brackets and quotes; empty strings (``""``, most of what is left of a
    batch's keys) go, which moves no bracket in or out of a string; what lies between the
    remaining quotes is inside strings, whose brackets do not count. One count when the
    body holds no more brackets than ``limit``, as most requests do."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    if b"\\" in body:  # pairs first, as a JSON parser reads a run of backslashes
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = body.translate(None, _NOT_BRACKETS_OR_QUOTES).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    steps = marks.translate(_STEP)
    return any(depth > limit for depth in accumulate(1 if s == 1 else -1 for s in steps))


def deepest_path(value: Any, limit: int = MAX_JSON_DEPTH) -> list[str] | None:
    """The path (keys and indexes) to the first place ``value`` nests deeper than
    ``limit``, or None. Iterative: a value too deep for recursion is still measured."""
    pending: list[tuple[Any, list[str], int]] = [(value, [], 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = [(str(k), v) for k, v in item.items()]
        elif isinstance(item, list | tuple):
            children = [(str(i), v) for i, v in enumerate(item)]
        else:
            continue
        if depth + 1 > limit:
            return path
        pending.extend((child, [*path, key], depth + 1) for key, child in children)
    return None


def check_json_depth(field: str, value: Any, limit: int = MAX_JSON_DEPTH) -> Any:
    """``value`` (parsed JSON) or InvalidArgument naming ``field`` and where it nests too
    deeply."""
    path = deepest_path(value, limit)
    if path is not None:
        where = ".".join([field, *path[:3]]) + (".…" if len(path) > 3 else "")
        raise InvalidArgument(
            f"{field}: JSON may nest at most {limit} levels of objects and arrays "
            f"(deeper at {where})"
        )
    return value


def stored_json(text: str | bytes | None, limit: int = MAX_JSON_DEPTH) -> Any:
    """A JSON document read back from storage, or None when it nests deeper than
    ``limit`` (one written before the limit existed): such a document cannot be sent
    anywhere, and dropping it keeps every later read of its record working."""
    if text is None or text == "":
        return None
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if body_depth_exceeds(raw, limit):
        return None
    return json.loads(raw)

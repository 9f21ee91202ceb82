"""The server's depth check on raw bytes agrees with the depth of the parsed document,
whatever brackets, quotes and backslashes the strings hold."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson

from keel.entities.json_depth import body_depth_exceeds, deepest_path

PIECES = ["[", "]", "{", "}", '"', "\\", "a", '\\"', "\\\\", "", "\n"]


def _document(rnd: random.Random, depth: int = 0) -> Any:
    if depth > 14 or rnd.random() < 0.45:
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 6)))
        return rnd.choice([1, 2.5, None, True, text])
    if rnd.random() < 0.5:
        return [_document(rnd, depth + 1) for _ in range(rnd.randint(0, 2))]
    keys = ("".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 4))) for _ in range(2))
    return {key: _document(rnd, depth + 1) for key in keys}


def test_the_byte_scan_agrees_with_the_parsed_depth() -> None:
    rnd = random.Random(13)
    for _ in range(1500):
        value = _document(rnd)
        expected = deepest_path(value, 4) is not None
        for text in (orjson.dumps(value), json.dumps(value, indent=1).encode()):
            assert body_depth_exceeds(text, 4) is expected, text[:300]


def test_deepest_path_names_where() -> None:
    value = {"ok": [1, 2], "details": {"a": {"b": {"c": 1}}}}
    assert deepest_path(value, 3) == ["details", "a", "b"]
    assert deepest_path(value, 4) is None
    deep: Any = 1
    for _ in range(100_000):  # far past recursion: measured all the same
        deep = [deep]
    assert deepest_path(deep, 32) == ["0"] * 32

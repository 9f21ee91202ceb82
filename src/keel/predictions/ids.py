"""Prediction ids: 32 hex characters, time-ordered as UUIDv7 is (48 bits of milliseconds
since the epoch, then 80 random bits), so an id alone says which hour's files hold it.

>>> pid = new_prediction_id(now_ms=1_765_000_000_000)
>>> len(pid), id_time_ms(pid)
(32, 1765000000000)
"""

from __future__ import annotations

import os
import random
import re
import time

from keel.errors import InvalidArgument

_random = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.seed)

_ID = re.compile(r"[0-9a-f]{32}")


def new_prediction_id(now_ms: int | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{ms & 0xFFFF_FFFF_FFFF:012x}{_random.getrandbits(80):020x}"


def new_prediction_ids(count: int, now_ms: int | None = None) -> list[str]:
    """``count`` ids sharing one timestamp (one request's rows)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    head = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
    bits = _random.getrandbits
    return [f"{head}{bits(80):020x}" for _ in range(count)]


def check_prediction_id(value: object, field: str = "prediction id") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidArgument(f"{field} {value!r}: must be 32 lowercase hex characters")
    return value


def id_time_ms(prediction_id: str) -> int:
    """When the prediction was made (milliseconds since the epoch), read from its id."""
    return int(check_prediction_id(prediction_id)[:12], 16)

"""Identifiers for runs and write batches: 128 random bits as 32 hex characters.

Drawn from a private ``random.Random``, seeded from the OS's entropy at start-up and
reseeded in a forked child, rather than from ``os.urandom`` per id: ids are not secrets,
and a system call per id cost a quarter of a millisecond on some hosts. Not from the global
generator: training scripts seed it (``random.seed(0)``), which would give every run of
the same script the same run and batch ids, and the store would drop the later ones' writes
as replays.
"""

from __future__ import annotations

import os
import random
import re

_random = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.seed)


def new_id() -> str:
    return f"{_random.getrandbits(128):032x}"


_DECIMAL = re.compile(r"[0-9]{1,19}")
INT64_MAX = 2**63 - 1


def integer_id(value: object) -> int | None:
    """An experiment id (a decimal string, as the stores hand them out) as the integer the
    database holds, or None when it cannot be one: not plain ASCII digits (``int()`` also
    takes ' 7', '1_000' and other scripts' digits), negative, or past a 64-bit column
    (which the databases answer with an overflow, not a miss).

    >>> integer_id("42"), integer_id("9223372036854775808"), integer_id("-1")
    (42, None, None)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= INT64_MAX else None
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        return None
    number = int(value)
    return number if number <= INT64_MAX else None

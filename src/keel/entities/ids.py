"""Identifiers for runs and write batches: 128 random bits as 32 hex characters.

Drawn from Python's ``random`` generator, which is seeded from the OS's entropy at start-up
and reseeded in a forked child, rather than from ``os.urandom`` per id: ids are not
secrets, and a system call per id cost a quarter of a millisecond on some hosts.
"""

from __future__ import annotations

import random


def new_id() -> str:
    return f"{random.getrandbits(128):032x}"

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

_random = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.seed)


def new_id() -> str:
    return f"{_random.getrandbits(128):032x}"

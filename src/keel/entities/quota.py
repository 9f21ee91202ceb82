"""Storage quotas of projects: sizes as people write them (``10GiB``), a project's use
against its quota, and the refusal an upload past it gets (413, naming the project, its
quota and its use).

>>> parse_size("10GiB")
10737418240
>>> format_size(1536)
'1.5 KiB'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keel.errors import InvalidArgument, PayloadTooLarge

MAX_QUOTA_BYTES = 2**62
"""Far beyond any store, and well inside a signed 64-bit column."""
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")


def parse_size(value: object, field: str = "quota") -> int:
    """Bytes from ``10GiB``, ``500 MB``, ``1.5TiB`` or a plain number of bytes."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{field}: must be a size such as 10GiB or 500MB, got {value!r}")
    if isinstance(value, int):
        found = value
    elif isinstance(value, str) and (m := _SIZE.fullmatch(value.strip())):
        unit = _UNITS.get(m.group(2).lower())
        if unit is None:
            raise InvalidArgument(
                f"{field}: unknown unit {m.group(2)!r} in {value!r}; use B, KB, MB, GB, TB, "
                "KiB, MiB, GiB or TiB"
            )
        found = int(float(m.group(1)) * unit)
    else:
        raise InvalidArgument(f"{field}: must be a size such as 10GiB or 500MB, got {value!r}")
    if not 0 <= found <= MAX_QUOTA_BYTES:
        raise InvalidArgument(f"{field}: must be 0 to {MAX_QUOTA_BYTES} bytes, got {found}")
    return found


def format_size(n: int) -> str:
    """``10.0 GiB``: binary units, one decimal above bytes."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class ProjectUsage:
    """A project's stored bytes (counted as uploads are recorded) and its quota
    (``None``: unlimited)."""

    project: str
    used: int
    quota: int | None

    @property
    def room(self) -> int | None:
        """Bytes that may still be added (``None``: no limit)."""
        return None if self.quota is None else max(0, self.quota - self.used)

    def refusal(self, adding: int | None = None) -> PayloadTooLarge:
        """The 413 for an upload that does not fit."""
        assert self.quota is not None
        needs = "" if adding is None else f"; this upload adds {format_size(adding)}"
        return PayloadTooLarge(
            f"project {self.project!r}: storage quota {format_size(self.quota)} "
            f"({self.quota} bytes) reached: {format_size(self.used)} ({self.used} bytes) "
            f"in use{needs}; ask an admin to raise it (keel projects quota {self.project} SIZE) "
            "or delete what it no longer needs"
        )

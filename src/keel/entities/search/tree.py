"""The parsed trees: frozen filter nodes and order-by clauses, plus the size limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "MAX_CONDITIONS",
    "MAX_FILTER_LENGTH",
    "MAX_NESTING_DEPTH",
    "And",
    "Comparison",
    "Node",
    "Or",
    "OrderBy",
    "Value",
]

MAX_FILTER_LENGTH = 10_000
MAX_CONDITIONS = 100
MAX_NESTING_DEPTH = 50

Value: TypeAlias = str | float | int


# --------------------------------------------------------------------------------------------
# The trees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """One condition, e.g. ``metrics.acc > 0.9``.

    ``value`` is ``None`` for ``IS NULL``/``IS NOT NULL`` and a tuple for ``IN``/``NOT IN``.
    """

    entity: str  # "metric" | "param" | "tag" | "attribute" | "dataset"
    key: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", ..., "IS NOT NULL"
    value: Value | tuple[Value, ...] | None


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` hold; never directly contains another :class:`And`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` holds; never directly contains another :class:`Or`."""

    items: tuple[Node, ...]


Node: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One order-by clause, e.g. ``metrics.acc DESC``."""

    entity: str  # "metric" | "param" | "tag" | "attribute"
    key: str
    ascending: bool

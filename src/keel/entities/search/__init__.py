"""The run-search filter language and order-by clauses, parsed into small frozen trees.

:func:`parse_filter` turns ``metrics.acc > 0.9 AND (tags.team = 'a' OR tags.team = 'b')`` into
a :class:`Comparison`, :class:`And` or :class:`Or` tree; :func:`parse_order_by` turns
``["metrics.acc DESC"]`` into :class:`OrderBy` tuples. The pieces live in :mod:`.tree` (nodes
and limits), :mod:`.vocabulary` (names, operators, value rules), :mod:`.scanner` (tokenizing
and error pointers), :mod:`.filters` (the filter grammar) and :mod:`.order` (order-by).
"""

from __future__ import annotations

from keel.entities.search.filters import parse_filter
from keel.entities.search.order import parse_order_by
from keel.entities.search.tree import (
    MAX_CONDITIONS,
    MAX_FILTER_LENGTH,
    MAX_NESTING_DEPTH,
    And,
    Comparison,
    Node,
    Or,
    OrderBy,
    Value,
)
from keel.entities.search.vocabulary import (
    ATTRIBUTE_KEYS,
    DATASET_KEYS,
    ORDERABLE_ATTRIBUTES,
    RUN_STATUSES,
)

__all__ = [
    "ATTRIBUTE_KEYS",
    "DATASET_KEYS",
    "MAX_CONDITIONS",
    "MAX_FILTER_LENGTH",
    "MAX_NESTING_DEPTH",
    "ORDERABLE_ATTRIBUTES",
    "RUN_STATUSES",
    "And",
    "Comparison",
    "Node",
    "Or",
    "OrderBy",
    "Value",
    "parse_filter",
    "parse_order_by",
]

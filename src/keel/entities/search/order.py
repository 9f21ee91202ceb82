"""Order-by clauses for run search, such as ``metrics.acc DESC`` or ``start_time``.

:func:`parse_order_by` returns :class:`~keel.entities.search.tree.OrderBy` tuples; a mistake
raises :class:`~keel.errors.InvalidArgument` that points at the spot, as filters do.
"""

from __future__ import annotations

from collections.abc import Sequence

from keel.entities.search.scanner import Scanner, attribute_key
from keel.entities.search.tree import MAX_FILTER_LENGTH, OrderBy
from keel.entities.search.vocabulary import KEY_EXAMPLES, ORDERABLE_ATTRIBUTES, TAG_ATTRIBUTES
from keel.errors import InvalidArgument

__all__ = ["parse_order_by"]

# --------------------------------------------------------------------------------------------
# Order by
# --------------------------------------------------------------------------------------------


def parse_order_by(clauses: Sequence[str] | None) -> tuple[OrderBy, ...]:
    """Parse order-by clauses such as ``["metrics.acc DESC", "start_time"]``.

    >>> parse_order_by(["metrics.acc DESC", "name"])
    (OrderBy(entity='metric', key='acc', ascending=False), \
OrderBy(entity='attribute', key='run_name', ascending=True))
    """
    if clauses is None:
        return ()
    if isinstance(clauses, str):
        raise InvalidArgument(
            'order_by: expected a list of clauses such as ["metrics.acc DESC"], got a string'
        )
    return tuple(_parse_order_clause(clause, index) for index, clause in enumerate(clauses))


def _parse_order_clause(clause: str, index: int) -> OrderBy:
    label = f"order_by[{index}]"
    if not isinstance(clause, str):
        raise InvalidArgument(
            f'{label}: expected a string such as "metrics.acc DESC", got {type(clause).__name__}'
        )
    if len(clause) > MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"{label}: is {len(clause):,} characters long; the limit is {MAX_FILTER_LENGTH:,}"
        )
    scan = Scanner(clause, label, "clause")
    ident = scan.read_identifier(f"a key such as {KEY_EXAMPLES}")
    key = ident.key
    if ident.entity == "dataset":
        raise scan.error(
            ident.start,
            "runs cannot be ordered by datasets",
            found=False,
            hint="order by metrics., params., tags. or an attribute",
        )
    entity = ident.entity
    if entity == "attribute":
        key = attribute_key(scan, ident, ORDERABLE_ATTRIBUTES)
    elif entity == "tag" and key in TAG_ATTRIBUTES:  # tags.mlflow.parentRunId
        entity, key = "attribute", TAG_ATTRIBUTES[key]
    ascending = True
    if not scan.at_end():
        direction_start = scan.pos
        direction = scan.read_word().lower()
        if direction not in ("asc", "desc"):
            stray_comma = direction == "" and scan.peek() == ","
            hint = "put each clause in its own list item" if stray_comma else None
            raise scan.error(direction_start, "expected ASC or DESC", hint=hint)
        ascending = direction == "asc"
        if not scan.at_end():
            raise scan.error(scan.pos, f"expected the end of the clause after {direction.upper()}")
    return OrderBy(entity, key, ascending)

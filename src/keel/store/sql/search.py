"""Run search: the parsed filter and order-by clauses compiled to one SQL query.

Conditions joined by AND at the top level become inner joins, so the database can drive
the query from the most selective index (e.g. ``metric_series (key, last_value)`` for
``metrics.acc > 0.9 ORDER BY metrics.acc DESC``) and stop after one page. Conditions
under OR become ``EXISTS`` subqueries. Page tokens carry an offset.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.sql import FromClause

from keel.entities import ViewType
from keel.entities.search import And, Comparison, Node, Or, OrderBy, parse_filter, parse_order_by
from keel.errors import InvalidArgument
from keel.store.sql.tables import metric_series, params, runs, tags

ATTRIBUTE_COLUMNS = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "experiment_id": runs.c.experiment_id,
    "lifecycle_stage": runs.c.lifecycle_stage,
    "last_heartbeat": runs.c.last_heartbeat,
}
_TABLES = {"metric": metric_series, "param": params, "tag": tags}


def _value_column(entity: str, table: Any) -> Any:
    return table.c.last_value if entity == "metric" else table.c.value


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if isinstance(value, float) and math.isnan(value):
        # NaN is stored as NULL; it equals only itself and orders with nothing.
        if op == "=":
            return column.is_(None)
        if op == "!=":
            return column.is_not(None)
        return false()
    match op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "LIKE":
            return column.like(value)
        case "NOT LIKE":
            return column.not_like(value)
        case "ILIKE":
            return column.ilike(value)
        case "NOT ILIKE":
            return column.not_ilike(value)
        case "IN":
            return column.in_(list(value))
        case "NOT IN":
            return column.not_in(list(value))
        case "IS NULL":
            return column.is_(None)
        case "IS NOT NULL":
            return column.is_not(None)
    raise InvalidArgument(f"filter: unsupported operator {op!r}")


class _Compiler:
    def __init__(self) -> None:
        self.joins: dict[tuple[str, str], FromClause] = {}
        self.join_conditions: list[tuple[FromClause, ColumnElement[bool], bool]] = []

    def joined(self, entity: str, key: str, *, outer: bool) -> FromClause:
        """An alias of the entity's table restricted to ``key``, joined to runs once."""
        alias = self.joins.get((entity, key))
        if alias is None:
            alias = _TABLES[entity].alias(f"{entity[0]}{len(self.joins)}")
            self.joins[(entity, key)] = alias
            on = and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key)
            self.join_conditions.append((alias, on, outer))
        return alias

    def top(self, node: Node) -> ColumnElement[bool]:
        items = node.items if isinstance(node, And) else (node,)
        clauses = []
        for item in items:
            if isinstance(item, Comparison) and item.entity in _TABLES and item.op != "IS NULL":
                if item.op == "IS NOT NULL":
                    self.joined(item.entity, item.key, outer=False)
                    continue
                alias = self.joined(item.entity, item.key, outer=False)
                clauses.append(_compare(_value_column(item.entity, alias), item.op, item.value))
            else:
                clauses.append(self.condition(item))
        return and_(true(), *clauses)

    def condition(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(*(self.condition(item) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.condition(item) for item in node.items))
        return self.comparison(node)

    def comparison(self, c: Comparison) -> ColumnElement[bool]:
        if c.entity == "attribute":
            column = ATTRIBUTE_COLUMNS.get(c.key)
            if column is None:
                raise InvalidArgument(f"filter: attributes.{c.key} cannot be searched")
            value = c.value
            if c.key == "experiment_id" and value is not None:
                value = _experiment_ids(value)
            return _compare(column, c.op, value)
        if c.entity == "dataset":
            raise InvalidArgument("filter: datasets.* conditions are not supported yet")
        table = _TABLES[c.entity]
        has_key = and_(table.c.run_uuid == runs.c.run_uuid, table.c.key == c.key)
        if c.op == "IS NULL":
            return not_(exists().where(has_key))
        if c.op == "IS NOT NULL":
            return exists().where(has_key)
        value_test = _compare(_value_column(c.entity, table), c.op, c.value)
        return exists().where(has_key, value_test)

    def order(self, clause: OrderBy) -> Any:
        if clause.entity == "attribute":
            column = ATTRIBUTE_COLUMNS.get(clause.key)
            if column is None:
                raise InvalidArgument(f"order_by: attributes.{clause.key} cannot be ordered")
        else:
            alias = self.joins.get((clause.entity, clause.key))
            if alias is None:
                alias = self.joined(clause.entity, clause.key, outer=True)
            column = _value_column(clause.entity, alias)
        ordered = column.asc() if clause.ascending else column.desc()
        return ordered.nulls_last()


def _experiment_ids(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_experiment_ids(v) for v in value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"filter: experiment_id {value!r} is not a number") from None


def build_search(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    *,
    view: ViewType,
    order_by: Sequence[str] | None,
    limit: int,
    offset: int,
) -> Select[Any]:
    ids = []
    for exp_id in experiment_ids:
        try:
            ids.append(int(exp_id))
        except (TypeError, ValueError):
            raise InvalidArgument(f"experiment_ids: {exp_id!r} is not an experiment id") from None
    compiler = _Compiler()
    node = parse_filter(filter_string)
    where = compiler.top(node) if node is not None else true()
    orders = [compiler.order(clause) for clause in parse_order_by(order_by)]
    source: FromClause = runs
    for alias, on, outer in compiler.join_conditions:
        source = source.join(alias, on, isouter=outer)
    return (
        select(runs.c.run_uuid)
        .select_from(source)
        .where(
            runs.c.experiment_id.in_(ids),
            runs.c.lifecycle_stage.in_([stage.value for stage in view.stages()]),
            where,
        )
        .order_by(*orders, runs.c.start_time.desc(), runs.c.run_uuid)
        .limit(limit)
        .offset(offset)
    )


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode().rstrip("=")


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = orjson.loads(base64.urlsafe_b64decode(padded))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except Exception:
        pass
    raise InvalidArgument("page_token: not a token returned by search_runs")

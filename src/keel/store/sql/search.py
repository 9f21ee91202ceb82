"""Run search: the parsed filter and order-by clauses compiled to SQL, read a page at a time.

Conditions joined by AND at the top level become inner joins, so the database can drive
the query from the most selective index (e.g. ``metric_series (key, last_value)`` for
``metrics.acc > 0.9 ORDER BY metrics.acc DESC``) and stop after one page. Conditions
under OR become ``EXISTS`` subqueries. A param or tag condition that fixes a value or its
prefix (``=``, ``IN``, ``LIKE 'abc%'``) is written on the value's indexed prefix, which the
``(key, value prefix)`` indexes answer (on PostgreSQL; SQLite's planner cannot judge
them). A top-level condition that an index answers and that matches few runs drives the
search: the runs' ids are read first (:func:`_pin`).

The order is total: the clauses asked for, then start time (newest first), then run id.
Pages are keyset pages (``search_token.py``): a token holds the last run's sort values,
and the next page is the runs after them, a range of an index where one fits; page 50
costs what page 1 does, and walking every page gives each run once.

NULLs sort last in either direction (a run without the metric, or with a NaN). So that
the index on a value can serve an order by it, such a search reads in two segments:
the runs that have a value, in the order of the index, then those that have none.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    any_,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import FromClause

from keel.entities import ViewType
from keel.entities.rules import int_id
from keel.entities.search import And, Comparison, Node, Or, OrderBy, parse_filter, parse_order_by
from keel.errors import InvalidArgument
from keel.store.sql.search_token import Kind, decode_page_token, encode_page_token
from keel.store.sql.tables import VALUE_PREFIX, metric_series, params, runs, tags, value_prefix

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
    "parent_run_id": runs.c.parent_run_id,
}
_TABLES = {"metric": metric_series, "param": params, "tag": tags}
PROBE_LIMIT = 2_000
"""A top-level condition that matches fewer rows than this drives the search (``_pin``)."""


@dataclass(frozen=True)
class _Join:
    """An alias of a param, tag or metric table for one key, joined to ``runs``."""

    alias: FromClause
    on: ColumnElement[bool]
    outer: bool
    entity: str
    key: str


@dataclass(frozen=True)
class SortKey:
    """One key of a search's order: a column, its direction, whether it may be NULL (and
    so sorts those last), its kind (what a page token may hold) and the join it reads."""

    column: Any
    ascending: bool
    nullable: bool
    kind: Kind
    join: _Join | None = None


_TIE_BREAKERS = (
    SortKey(runs.c.start_time, ascending=False, nullable=False, kind="int"),
    SortKey(runs.c.run_uuid, ascending=True, nullable=False, kind="str"),
)


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


def _id_prefix(column: Any, pattern: str) -> ColumnElement[bool]:
    """``run_id LIKE '3f2a%'`` (``keel runs show 3f2a``) as a range of the primary key
    too: PostgreSQL's index answers LIKE only under the C collation, and SQLite's only
    for some bound patterns, so either may otherwise read every run."""
    start = _like_prefix(pattern).lower()
    test = column.like(pattern)
    if not start or not all(char in "0123456789abcdef" for char in start):
        return test
    end = start[:-1] + chr(ord(start[-1]) + 1)
    return and_(column >= start, column < end, test)


def _like_prefix(pattern: str) -> str:
    """The literal start of a LIKE pattern: up to a wildcard or a backslash (PostgreSQL's
    escape character)."""
    for i, char in enumerate(pattern):
        if char in "%_\\":
            return pattern[:i]
    return pattern


def _prefix_test(table: Any, op: str, value: Any) -> tuple[ColumnElement[bool], bool] | None:
    """A test on the indexed prefix of a param or tag value that ``op value`` implies, and
    whether it is the whole test (the values are shorter than the prefix). One test rather
    than two: planners multiply the selectivities of the two, and underestimate."""
    prefix = value_prefix(table.c.value)
    if op == "=" and isinstance(value, str):
        return prefix == value[:VALUE_PREFIX], len(value) < VALUE_PREFIX
    if op == "IN" and all(isinstance(v, str) for v in value):
        short = all(len(v) < VALUE_PREFIX for v in value)
        return prefix.in_(sorted({v[:VALUE_PREFIX] for v in value})), short
    if op == "LIKE" and isinstance(value, str):
        start = _like_prefix(value)
        if start:
            whole = value == start + "%" and len(start) < VALUE_PREFIX
            return prefix.like(start[:VALUE_PREFIX] + "%"), whole
    return None


def _entity_test(
    entity: str, table: Any, op: str, value: Any, *, indexed: bool
) -> ColumnElement[bool]:
    """``entity.key op value`` on ``table``'s row for the key; with ``indexed``, in a form
    that the ``(key, value prefix)`` index can answer where one exists."""
    test = _compare(_value_column(entity, table), op, value)
    if indexed and entity != "metric":
        implied = _prefix_test(table, op, value)
        if implied is not None:
            prefix_test, whole = implied
            return prefix_test if whole else and_(prefix_test, test)
    return test


def _index_test(entity: str, table: Any, op: str, value: Any) -> ColumnElement[bool] | None:
    """A test of ``table``'s rows for one key that its ``(key, value)`` index answers as
    a range, and that ``op value`` implies; None if there is none."""
    if entity == "metric":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if op in ("=", "<", "<=", ">", ">=") and number and not math.isnan(value):
            return _compare(table.c.last_value, op, value)
        return None
    implied = _prefix_test(table, op, value)
    return None if implied is None else implied[0]


def _pin(conn: Connection, candidates: Sequence[tuple[Any, str, Any]]) -> Any:
    """The condition ``runs.run_uuid IN (...)`` for the runs that the most selective of
    ``candidates`` (table, key, index test) allows, if it allows fewer than
    ``PROBE_LIMIT``; else None. Each is counted by its index, at most that far.

    Neither planner can tell how many rows a condition on one key of a (key, value) table
    gives. PostgreSQL keeps one histogram of metric values across every key: it took
    'acc > 0.999' for a third of the runs, walked the index of another metric to order by
    it, and read half a million rows (5 s at 1M runs). SQLite keeps no histograms and one
    average count per key and value (11 rows for a params index whose keys include a
    seed, whatever the key). Given the runs' ids, both start from them."""
    best: tuple[int, Any, str, Any] | None = None
    for table, key, test in candidates:
        matches = select(true()).where(table.c.key == key, test).limit(PROBE_LIMIT)
        if table is metric_series:
            # In the index's order: else PostgreSQL, expecting the range to be large, reads
            # the table until it has enough, and reads all of it when the range is small.
            matches = matches.order_by(table.c.key, table.c.last_value)
        found = conn.execute(select(func.count()).select_from(matches.subquery())).scalar_one()
        if found < PROBE_LIMIT and (best is None or found < best[0]):
            best = (found, table, key, test)
    if best is None:
        return None
    _, table, key, test = best
    ids = list(conn.execute(select(table.c.run_uuid).where(table.c.key == key, test)).scalars())
    if not ids:
        return false()
    if conn.dialect.name == "postgresql":  # one array, not thousands of parameters
        from sqlalchemy.dialects.postgresql import ARRAY

        return runs.c.run_uuid == any_(literal(ids, ARRAY(runs.c.run_uuid.type)))
    return runs.c.run_uuid.in_(ids)


class _Compiler:
    def __init__(self, conn: Connection) -> None:
        self.joins: dict[tuple[str, str], _Join] = {}
        # Conditions that an index answers, for _pin: (table, key, index test).
        self.candidates: list[tuple[Any, str, Any]] = []
        # PostgreSQL may drive a search from the (key, value prefix) index of a condition
        # its statistics find selective. SQLite's statistics cannot tell (see _pin), so
        # its conditions are tested run by run unless _pin finds them selective.
        self.indexed = conn.dialect.name != "sqlite"

    def joined(self, entity: str, key: str, *, outer: bool) -> _Join:
        """An alias of the entity's table restricted to ``key``, joined to runs once."""
        join = self.joins.get((entity, key))
        if join is None:
            alias = _TABLES[entity].alias(f"{entity[0]}{len(self.joins)}")
            on = and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key)
            join = self.joins[(entity, key)] = _Join(alias, on, outer, entity, key)
        return join

    def top(self, node: Node) -> list[ColumnElement[bool]]:
        items = node.items if isinstance(node, And) else (node,)
        clauses = []
        for item in items:
            if isinstance(item, Comparison) and item.entity in _TABLES and item.op != "IS NULL":
                alias = self.joined(item.entity, item.key, outer=False).alias
                if item.op != "IS NOT NULL":
                    test = _entity_test(
                        item.entity, alias, item.op, item.value, indexed=self.indexed
                    )
                    clauses.append(test)
                    table = _TABLES[item.entity]
                    index_test = _index_test(item.entity, table, item.op, item.value)
                    if index_test is not None:
                        self.candidates.append((table, item.key, index_test))
            else:
                clauses.append(self.condition(item))
        return clauses

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
            if c.key == "run_id" and c.op == "LIKE" and isinstance(value, str):
                return _id_prefix(column, value)
            return _compare(column, c.op, value)
        if c.entity == "dataset":
            raise InvalidArgument("filter: datasets.* conditions are not supported yet")
        table = _TABLES[c.entity]
        has_key = and_(table.c.run_uuid == runs.c.run_uuid, table.c.key == c.key)
        if c.op == "IS NULL":
            return not_(exists().where(has_key))
        if c.op == "IS NOT NULL":
            return exists().where(has_key)
        test = _entity_test(c.entity, table, c.op, c.value, indexed=self.indexed)
        return exists().where(has_key, test)

    def sort_key(self, clause: OrderBy) -> SortKey:
        if clause.entity == "attribute":
            column = ATTRIBUTE_COLUMNS.get(clause.key)
            if column is None:
                raise InvalidArgument(f"order_by: attributes.{clause.key} cannot be ordered")
            kind: Kind = "int" if isinstance(column.type, Integer) else "str"
            return SortKey(column, clause.ascending, bool(column.nullable), kind)
        join = self.joins.get((clause.entity, clause.key))
        if join is None:
            join = self.joined(clause.entity, clause.key, outer=True)
        column = _value_column(clause.entity, join.alias)
        # A run lacks the key (outer join), or its metric is NaN (stored as NULL).
        nullable = join.outer or clause.entity == "metric"
        value_kind: Kind = "float" if clause.entity == "metric" else "str"
        return SortKey(column, clause.ascending, nullable, value_kind, join=join)


def _experiment_ids(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_experiment_ids(v) for v in value)
    found = int_id(value)
    if found is None:
        raise InvalidArgument(f"filter: experiment_id {value!r} is not an experiment id")
    return found


def _one_or_many(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    # "= x" rather than "IN (x)": an index on (column, ...) then serves the order after it.
    return column == values[0] if len(values) == 1 else column.in_(list(values))


@dataclass(frozen=True)
class _Segment:
    """Part of a search: its joins and conditions and the keys its rows are ordered by
    (a key ``None`` is NULL for every row of the segment)."""

    joins: tuple[_Join, ...]
    where: tuple[ColumnElement[bool], ...]
    keys: tuple[SortKey | None, ...]


class RunSearch:
    """One compiled search; :meth:`page` reads a page of run ids and the next token."""

    def __init__(
        self,
        conn: Connection,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        *,
        view: ViewType,
        order_by: Sequence[str] | None,
    ) -> None:
        ids = []
        for exp_id in experiment_ids:
            found = int_id(exp_id)
            if found is None:
                raise InvalidArgument(f"experiment_ids: {exp_id!r} is not an experiment id")
            ids.append(found)
        compiler = _Compiler(conn)
        node = parse_filter(filter_string)
        where = compiler.top(node) if node is not None else []
        pinned = _pin(conn, compiler.candidates)
        if pinned is not None:
            where.append(pinned)
        self.order = parse_order_by(order_by)
        keys: list[SortKey] = []
        for key in [*(compiler.sort_key(c) for c in self.order), *_TIE_BREAKERS]:
            if all(key.column is not k.column for k in keys):  # ties on it are settled
                keys.append(key)
        self.keys = tuple(keys)
        base = (
            _one_or_many(runs.c.experiment_id, ids),
            _one_or_many(runs.c.lifecycle_stage, [stage.value for stage in view.stages()]),
            *where,
        )
        self.segments = _segments(tuple(compiler.joins.values()), base, self.keys)

    def page(
        self, conn: Connection, max_results: int, page_token: str | None
    ) -> tuple[list[str], str | None]:
        kinds = [(k.kind, k.nullable) for k in self.keys]
        after = decode_page_token(page_token, self.order, kinds)
        segments = self.segments
        if after is not None and after[0] is None and len(segments) == 2:
            segments = segments[1:]  # the token is past every run that has a value
        want = max_results + 1  # one more tells whether there is a next page
        rows: list[Sequence[Any]] = []
        for segment in segments:
            # The token bounds the segment it came from; the next one follows it whole.
            rows += _read(conn, segment, after, want - len(rows))
            if len(rows) >= want:
                break
            after = None
        more = len(rows) > max_results
        rows = rows[:max_results]
        token = encode_page_token(self.order, rows[-1][1:]) if more else None
        return [row[0] for row in rows], token


def _segments(
    joins: tuple[_Join, ...], base: tuple[ColumnElement[bool], ...], keys: tuple[SortKey, ...]
) -> tuple[_Segment, ...]:
    first = keys[0]
    if not first.nullable:
        return (_Segment(joins, base, keys),)
    column = first.column
    valued: SortKey = replace(first, nullable=False)
    if first.join is None:  # a nullable attribute
        return (
            _Segment(joins, (*base, column.is_not(None)), (valued, *keys[1:])),
            _Segment(joins, (*base, column.is_(None)), (None, *keys[1:])),
        )
    join = first.join
    inner = replace(join, outer=False)
    with_value = tuple(inner if j is join else j for j in joins)
    # A metric has a value when it is a number (NaN is NULL): written as a range rather
    # than IS NOT NULL, so that SQLite sees the index range it is (its planner gives no
    # weight to IS NOT NULL, and sorted a million runs).
    everything = math.inf if not first.ascending else -math.inf
    has_value = [_bound(column, first.ascending, everything)] if first.kind == "float" else []
    if not join.outer:  # the filter joined it: only a NaN metric has no value
        without: _Segment | None = None
        if first.kind == "float":
            without = _Segment(joins, (*base, column.is_(None)), (None, *keys[1:]))
    else:
        table = _TABLES[join.entity]
        valued_row = and_(
            table.c.run_uuid == runs.c.run_uuid,
            table.c.key == join.key,
            _value_column(join.entity, table).is_not(None),
        )
        rest = tuple(None if k.join is join else k for k in keys[1:])
        others = tuple(j for j in joins if j is not join)
        without = _Segment(others, (*base, not_(exists().where(valued_row))), (None, *rest))
    segments = [_Segment(with_value, (*base, *has_value), (valued, *keys[1:]))]
    if without is not None:
        segments.append(without)
    return tuple(segments)


def _read(
    conn: Connection, segment: _Segment, after: Sequence[Any] | None, limit: int
) -> list[Sequence[Any]]:
    first = segment.keys[0]
    if conn.dialect.name == "sqlite" and first is not None and first.kind == "float":
        return _read_by_value(conn, segment, after, limit)
    return list(conn.execute(segment_query(segment, after, limit)).all())


def _read_by_value(
    conn: Connection, segment: _Segment, after: Sequence[Any] | None, limit: int
) -> list[Sequence[Any]]:
    """A page ordered by a metric first, on SQLite. Its planner gives a LIMIT no weight
    under a partial sort (the metric's index orders by value, not by value, start time
    and run id) and would sort every run. Ordered by the value alone, it reads the page
    from the index; the runs that tie with the page's last value are then all read, by
    index too, and the whole order applied here. SQLite compares text by its bytes, as
    Python compares strings, so the order is the one the database would give."""
    first = segment.keys[0]
    assert first is not None
    rows: list[Sequence[Any]] = list(conn.execute(segment_query(segment, after, limit, keys=1)))
    if len(rows) == limit:
        edge = rows[-1][1]
        ties = segment_query(segment, after, None, extra=(first.column == edge,))
        rows = [row for row in rows if row[1] != edge] + list(conn.execute(ties).all())
    return sorted(rows, key=functools.cmp_to_key(_comparer(segment.keys)))[:limit]


def _comparer(keys: Sequence[SortKey | None]) -> Any:
    """Compares two rows (run id, then one value a key) in the order of ``keys``."""

    def compare(a: Sequence[Any], b: Sequence[Any]) -> int:
        for index, key in enumerate(keys, start=1):
            x, y = a[index], b[index]
            if key is None or x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1  # NULLs last
            return (-1 if x < y else 1) * (1 if key.ascending else -1)
        return 0

    return compare


def segment_query(
    segment: _Segment,
    after: Sequence[Any] | None,
    limit: int | None,
    *,
    keys: int | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """The run ids and sort values of a segment's rows after ``after``, at most ``limit``
    (ordered by the first ``keys`` sort keys only, if given)."""
    source: FromClause = runs
    for join in segment.joins:
        source = source.join(join.alias, join.on, isouter=join.outer)
    where = [*segment.where, *extra]
    if after is not None:
        where.append(_after(segment.keys, after))
    columns = [runs.c.run_uuid] + [null() if k is None else k.column for k in segment.keys]
    order = [_ordered(k) for k in segment.keys[:keys] if k is not None]
    return select(*columns).select_from(source).where(*where).order_by(*order).limit(limit)


def _bound(column: Any, ascending: bool, value: Any) -> ColumnElement[bool]:
    """``column`` at or after ``value`` in the direction given."""
    return column >= value if ascending else column <= value


def _ordered(key: SortKey) -> Any:
    ordered = key.column.asc() if key.ascending else key.column.desc()
    return ordered.nulls_last() if key.nullable else ordered


def _after(keys: Sequence[SortKey | None], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after ``values`` in the order of ``keys``, nested so that the first key also
    bounds an index range: ``k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND (k2 > v2 OR ...)))``."""
    pairs = [(k, v) for k, v in zip(keys, values, strict=True) if k is not None]
    clause: ColumnElement[bool] = false()
    for key, value in reversed(pairs):
        clause = or_(_later(key, value), and_(_same(key, value), clause))
    key, value = pairs[0]
    if value is not None and not key.nullable:
        clause = and_(_bound(key.column, key.ascending, value), clause)
    return clause


def _later(key: SortKey, value: Any) -> ColumnElement[bool]:
    if value is None:
        return false()  # NULLs come last: after one, only other NULLs (ties)
    later = key.column > value if key.ascending else key.column < value
    return or_(later, key.column.is_(None)) if key.nullable else later


def _same(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value


def search_runs(
    conn: Connection,
    experiment_ids: Sequence[str],
    filter_string: str | None,
    *,
    view: ViewType,
    order_by: Sequence[str] | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[str], str | None]:
    """The ids of a page of runs, in order, and the token of the next page (or None)."""
    if conn.dialect.name == "postgresql":
        # A page is a LIMIT query: parallel workers cost milliseconds to start, each
        # reads its share past the page, and they compete with concurrent searches. And
        # its best plan depends on the values searched for (which tag prefix, which
        # metric range): the generic plan PostgreSQL may switch to after a statement has
        # run a few times cannot know them (at 100k runs it made a search 20 ms -> 250 ms).
        conn.exec_driver_sql(
            "SELECT set_config('max_parallel_workers_per_gather', '0', true),"
            " set_config('plan_cache_mode', 'force_custom_plan', true)"
        )
    search = RunSearch(conn, experiment_ids, filter_string, view=view, order_by=order_by)
    return search.page(conn, max_results, page_token)

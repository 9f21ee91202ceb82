"""Experiment filters and orders, MLflow's ``search_experiments`` language::

    name LIKE 'churn-%' AND tags.team = 'growth'
    creation_time > 1700000000000

Attributes: ``name`` (a string), ``creation_time`` and ``last_update_time`` (numbers,
milliseconds since the epoch); tags as ``tags.KEY``. The grammar, operators and error
messages are those of run filters (:mod:`.filters`). A store holds few experiments and
answers them all at once, so a filter is tested here, on each experiment, in Python.

>>> node = parse_experiment_filter("name LIKE 'churn-%' and tags.team = 'growth'")
>>> from keel.entities.experiment import Experiment
>>> experiment_matches(node, Experiment("1", "churn-v2", "/a", tags={"team": "growth"}))
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cmp_to_key

from keel.entities.experiment import Experiment
from keel.entities.search.filters import MAX_FILTER_LENGTH, _FilterParser
from keel.entities.search.scanner import Identifier, Scanner
from keel.entities.search.tree import And, Comparison, Node, Or, Value
from keel.entities.search.vocabulary import Rule
from keel.errors import InvalidArgument

__all__ = [
    "EXPERIMENT_ATTRIBUTES",
    "experiment_matches",
    "parse_experiment_filter",
    "parse_experiment_order",
    "sort_experiments",
]

EXPERIMENT_ATTRIBUTES = ("name", "creation_time", "last_update_time")
_TIMES = ("creation_time", "last_update_time")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")


class _ExperimentFilterParser(_FilterParser):
    def subject(self, ident: Identifier) -> tuple[str, str]:
        if ident.entity == "tag":
            return "tag", ident.key
        key = ident.key.lower()
        if ident.entity != "attribute" or key not in EXPERIMENT_ATTRIBUTES:
            written = self.scan.text[ident.start : ident.key_start] + ident.key
            raise self.scan.error(
                ident.start,
                f'experiments cannot be filtered by "{written}"',
                found=False,
                hint=f"use {', '.join(EXPERIMENT_ATTRIBUTES)} or tags.KEY",
            )
        return "attribute", key

    def rule_for(self, entity: str, key: str) -> Rule:
        if entity == "tag":
            ops = (*_STRING_OPS, "IS NULL", "IS NOT NULL")
            return Rule("tags", "tags are strings", False, ops)
        if key in _TIMES:
            nature = f"{key} is a number (milliseconds since the epoch)"
            return Rule(key, nature, True, _NUMBER_OPS)
        return Rule(key, f"{key} is a string", False, _STRING_OPS)


def parse_experiment_filter(text: str | None) -> Node | None:
    """Parse an experiment filter; ``None`` or blank text means "every experiment"."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"filter_string: expected a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"filter_string: is {len(text):,} characters long; the limit is {MAX_FILTER_LENGTH:,}"
        )
    if not text.strip():
        return None
    return _ExperimentFilterParser(text).parse()


def experiment_matches(node: Node | None, experiment: Experiment) -> bool:
    if node is None:
        return True
    if isinstance(node, And):
        return all(experiment_matches(item, experiment) for item in node.items)
    if isinstance(node, Or):
        return any(experiment_matches(item, experiment) for item in node.items)
    return _holds(node, experiment)


def _holds(c: Comparison, experiment: Experiment) -> bool:
    tagged = c.entity == "tag"
    value: Value | None = experiment.tags.get(c.key) if tagged else getattr(experiment, c.key)
    if c.op == "IS NULL":
        return value is None
    if c.op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False  # as in SQL: a missing tag satisfies no comparison
    wanted = c.value
    match c.op:
        case "=":
            return value == wanted
        case "!=":
            return value != wanted
        case "<":
            return value < wanted  # type: ignore[operator]
        case "<=":
            return value <= wanted  # type: ignore[operator]
        case ">":
            return value > wanted  # type: ignore[operator]
        case ">=":
            return value >= wanted  # type: ignore[operator]
        case "IN":
            return value in wanted  # type: ignore[operator]
        case "NOT IN":
            return value not in wanted  # type: ignore[operator]
        case "LIKE" | "NOT LIKE" | "ILIKE" | "NOT ILIKE":
            flags = re.IGNORECASE if "ILIKE" in c.op else 0
            found = re.fullmatch(_like_pattern(str(wanted)), str(value), flags | re.DOTALL)
            return (found is not None) != c.op.startswith("NOT")
    raise InvalidArgument(f"filter_string: unsupported operator {c.op!r}")


def _like_pattern(pattern: str) -> str:
    """A LIKE pattern as a regular expression: ``%`` any run of characters, ``_`` one."""
    return "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )


def parse_experiment_order(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    """``["name", "creation_time DESC"]`` as (attribute, ascending) pairs."""
    parsed = []
    for index, clause in enumerate(order_by or ()):
        label = f"order_by[{index}]"
        if not isinstance(clause, str):
            raise InvalidArgument(f'{label}: expected a string such as "name ASC"')
        scan = Scanner(clause, label, "clause")
        words = clause.split()
        key = words[0].lower() if words else ""
        key = key.removeprefix("attributes.").removeprefix("attribute.")
        if key not in (*EXPERIMENT_ATTRIBUTES, "experiment_id"):
            raise scan.error(
                0,
                "experiments are ordered by an attribute",
                hint="use name, creation_time, last_update_time or experiment_id",
            )
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if direction not in ("ASC", "DESC") or len(words) > 2:
            raise scan.error(len(words[0]) + 1, "expected ASC or DESC after the attribute")
        parsed.append((key, direction == "ASC"))
    return parsed


def sort_experiments(
    experiments: Sequence[Experiment], order: Sequence[tuple[str, bool]]
) -> list[Experiment]:
    """Ordered by ``order``, ties by id."""
    keys = [*order, ("experiment_id", True)]

    def compare(a: Experiment, b: Experiment) -> int:
        for key, ascending in keys:
            x, y = _sort_value(a, key), _sort_value(b, key)
            if x != y:
                return (-1 if x < y else 1) * (1 if ascending else -1)  # type: ignore[operator]
        return 0

    return sorted(experiments, key=cmp_to_key(compare))


def _sort_value(experiment: Experiment, key: str) -> object:
    value = getattr(experiment, key)
    if key == "experiment_id" and isinstance(value, str) and value.isdigit():
        return int(value)
    return value

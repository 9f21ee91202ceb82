"""The run-search filter language, parsed into a small frozen tree.

A filter is MLflow's search syntax plus ``OR`` and parentheses::

    metrics.accuracy > 0.9 AND params.model = 'resnet' AND status IN ('RUNNING', 'FINISHED')
    (tags.team = 'vision' OR tags.team = 'nlp') AND attributes.start_time >= 1700000000000

Grammar (keywords are case-insensitive; ``AND`` binds tighter than ``OR``)::

    expr       := and_expr ( OR and_expr )*
    and_expr   := unary ( AND unary )*
    unary      := '(' expr ')' | condition
    condition  := identifier comparator [ value | '(' value ( ',' value )* ')' ]
    identifier := [ entity '.' ] key       key: bare word, or quoted with ` " or '

:func:`parse_filter` returns a :class:`~keel.entities.search.tree.Comparison`,
:class:`~keel.entities.search.tree.And` or :class:`~keel.entities.search.tree.Or` tree (or
``None`` for an empty filter). Every mistake raises :class:`~keel.errors.InvalidArgument` whose
message names the position (counted from 1) and what was expected, then shows the text with a
caret under the spot.

>>> parse_filter("metrics.acc > 0.9 AND params.model = 'cnn'")
And(items=(Comparison(entity='metric', key='acc', op='>', value=0.9), \
Comparison(entity='param', key='model', op='=', value='cnn')))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from keel.entities.search.scanner import Identifier, Scanner, attribute_key
from keel.entities.search.tree import (
    MAX_CONDITIONS,
    MAX_FILTER_LENGTH,
    MAX_NESTING_DEPTH,
    And,
    Comparison,
    Node,
    Or,
    Value,
)
from keel.entities.search.vocabulary import (
    ALL_OPS,
    ATTRIBUTE_KEYS,
    BARE_CHARS,
    DATASET_KEYS,
    NUMBER,
    SPECIAL_NUMBERS,
    SYMBOL_OPS,
    TAG_ATTRIBUTES,
    VALUE_QUOTES,
    Rule,
    rule_for,
)
from keel.errors import InvalidArgument

__all__ = ["parse_filter"]

# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def parse_filter(text: str | None) -> Node | None:
    """Parse a run-search filter; ``None`` or blank text means "no filter".

    >>> parse_filter("status = 'running' OR metrics.loss < 0.1 AND tags.best IS NOT NULL")
    Or(items=(Comparison(entity='attribute', key='status', op='=', value='RUNNING'), \
And(items=(Comparison(entity='metric', key='loss', op='<', value=0.1), \
Comparison(entity='tag', key='best', op='IS NOT NULL', value=None)))))
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"filter: expected a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"filter: is {len(text):,} characters long; the limit is {MAX_FILTER_LENGTH:,}"
        )
    if not text.strip():
        return None
    return _FilterParser(text).parse()


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Value
    start: int
    end: int
    is_string: bool


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.scan = Scanner(text, "filter", "filter")
        self.conditions = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self.parse_or()
        if not self.scan.at_end():
            pos = self.scan.pos
            if self.scan.peek() == ")":
                raise self.scan.error(pos, "unexpected ')' with no '(' before it", found=False)
            raise self.scan.error(pos, "expected AND, OR or the end of the filter")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.scan.peek_word() == "or":
            self.scan.read_word()
            items.append(self.parse_and())
        return _combine(Or, items)

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.scan.peek_word() == "and":
            self.scan.read_word()
            items.append(self.parse_unary())
        return _combine(And, items)

    def parse_unary(self) -> Node:
        if self.scan.peek() != "(":
            return self.parse_condition()
        opening = self.scan.pos
        if self.depth >= MAX_NESTING_DEPTH:
            raise self.scan.error(
                opening,
                f"too many nested parentheses: the limit is {MAX_NESTING_DEPTH}",
                found=False,
            )
        self.scan.pos += 1
        self.depth += 1
        node = self.parse_or()
        self.depth -= 1
        if self.scan.peek() != ")":
            raise self.scan.error(
                self.scan.pos,
                "expected AND, OR or ')'",
                hint=f"the '(' at position {opening + 1} is not closed",
            )
        self.scan.pos += 1
        return node

    def parse_condition(self) -> Comparison:
        self.scan.skip_spaces()
        start = self.scan.pos
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.scan.error(
                start, f"too many conditions: the limit is {MAX_CONDITIONS}", found=False
            )
        ident = self.scan.read_identifier("a condition such as metrics.accuracy > 0.9")
        entity, key = self.subject(ident)
        rule = self.rule_for(entity, key)
        op, op_start = self.read_operator(ident)
        literals: list[_Literal] = []
        if op in ("IN", "NOT IN"):
            literals = self.read_list(op)
        elif op not in ("IS NULL", "IS NOT NULL"):
            literals = [self.read_literal()]
        if not rule.numeric:
            # `params.x > 1`: the number is the root mistake, so it is reported first.
            for literal in literals:
                self.require_string(rule, op, literal)
        if op not in rule.ops:
            raise self.scan.error(
                op_start,
                f"{op} cannot be used with {rule.subject}",
                found=False,
                hint=f"{rule.nature}: use one of {', '.join(rule.ops)}",
            )
        values = tuple(self.check_value(rule, literal) for literal in literals)
        value: Value | tuple[Value, ...] | None = None
        if op in ("IN", "NOT IN"):
            value = values
        elif values:
            value = values[0]
        return Comparison(entity, key, op, value)

    def subject(self, ident: Identifier) -> tuple[str, str]:
        """What a condition compares: (entity, key), checked; MLflow's tags for what Keel
        keeps as attributes become those attributes."""
        key = self.check_key(ident)
        if ident.entity == "tag" and key in TAG_ATTRIBUTES:
            return "attribute", TAG_ATTRIBUTES[key]
        return ident.entity, key

    def rule_for(self, entity: str, key: str) -> Rule:
        return rule_for(entity, key)

    def check_key(self, ident: Identifier) -> str:
        """The key, with attribute and dataset names checked and normalised."""
        if ident.entity == "attribute":
            return attribute_key(self.scan, ident, ATTRIBUTE_KEYS)
        if ident.entity == "dataset":
            key = ident.key.lower()
            if key not in DATASET_KEYS:
                raise self.scan.error(
                    ident.key_start,
                    f'unknown dataset field "{ident.key}"',
                    found=False,
                    hint=f"expected one of {', '.join(DATASET_KEYS)}",
                )
            return key
        return ident.key

    def read_operator(self, ident: Identifier) -> tuple[str, int]:
        scan = self.scan
        scan.skip_spaces()
        start = scan.pos
        for symbol, op in SYMBOL_OPS:
            if scan.text.startswith(symbol, start):
                scan.pos += len(symbol)
                return op, start
        typed = scan.read_word()
        word = typed.upper()
        if word in ("LIKE", "ILIKE", "IN"):
            return word, start
        if word == "NOT":
            return self.read_after("NOT", ("LIKE", "ILIKE", "IN")), start
        if word == "IS":
            follow = scan.peek_word().upper()
            if follow == "NOT":
                scan.read_word()
                return self.read_after("IS NOT", ("NULL",)), start
            return self.read_after("IS", ("NULL",), also="NOT NULL"), start
        hint = f"use one of {', '.join(ALL_OPS)}"
        if typed and not ident.quoted:
            prefix = scan.text[ident.start : ident.key_start]
            hint += f"; quote keys that contain spaces, e.g. {prefix}`{ident.key} {typed}`"
        raise scan.error(start, "expected a comparison operator", hint=hint)

    def read_after(self, head: str, allowed: tuple[str, ...], also: str | None = None) -> str:
        """The word that completes ``NOT LIKE``, ``IS NULL`` and the like."""
        self.scan.skip_spaces()
        pos = self.scan.pos
        word = self.scan.read_word().upper()
        if word in allowed:
            return f"{head} {word}"
        choices = [*allowed, *([also] if also else [])]
        listed = _join_or(choices)
        raise self.scan.error(pos, f"expected {listed} after {head}")

    def read_list(self, op: str) -> list[_Literal]:
        scan = self.scan
        if scan.peek() != "(":
            raise scan.error(
                scan.pos,
                f"expected '(' to start the list of values after {op}",
                hint=f"e.g. {op} ('a', 'b')",
            )
        scan.pos += 1
        if scan.peek() == ")":
            raise scan.error(scan.pos, f"expected at least one value in the {op} list")
        literals = [self.read_literal()]
        while scan.peek() == ",":
            scan.pos += 1
            literals.append(self.read_literal())
        if scan.peek() != ")":
            raise scan.error(scan.pos, f"expected ',' or ')' in the {op} list")
        scan.pos += 1
        return literals

    def read_literal(self) -> _Literal:
        scan = self.scan
        scan.skip_spaces()
        start = scan.pos
        char = scan.peek()
        if char in VALUE_QUOTES:
            text = scan.read_quoted()
            return _Literal(text, start, scan.pos, is_string=True)
        if char == "`":
            raise scan.error(
                start,
                "expected a number or a quoted string",
                hint="backticks quote keys; quote values with ' or \"",
            )
        match = NUMBER.match(scan.text, start)
        if match and not _continues_word(scan.text, match.end()):
            scan.pos = match.end()
            return _Literal(_to_number(match.group()), start, scan.pos, is_string=False)
        sign = "+" if char == "+" else ""  # "-" is part of a bare word already; "+" is not
        scan.pos += len(sign)
        word = sign + scan.read_bare()
        special = SPECIAL_NUMBERS.get(word.lower())
        if special is not None:
            return _Literal(special, start, scan.pos, is_string=False)
        if word.lower() == "null":
            hint = "use IS NULL or IS NOT NULL to test for a missing value"
        elif word and not match:
            hint = f"quote strings, e.g. '{word}'"
        else:
            hint = None
        raise scan.error(start, "expected a number or a quoted string", hint=hint)

    def require_string(self, rule: Rule, op: str, literal: _Literal) -> None:
        if literal.is_string:
            return
        raw = self.scan.text[literal.start : literal.end]
        hint = f"write '{raw}'"
        if op not in rule.ops:
            allowed = ", ".join(rule.ops)
            hint += f"; also, {op} cannot be used with {rule.subject}: use one of {allowed}"
        raise self.scan.error(literal.start, f"{rule.nature}: quote the value", hint=hint)

    def check_value(self, rule: Rule, literal: _Literal) -> Value:
        scan, value = self.scan, literal.value
        if rule.numeric and isinstance(value, str):
            hint = "remove the quotes" if _looks_numeric(value) else None
            raise scan.error(literal.start, f"{rule.nature}: expected a number", hint=hint)
        if isinstance(value, float) and not math.isfinite(value) and rule.subject != "metrics":
            raise scan.error(
                literal.start,
                "NaN and Infinity can only be compared with metrics",
                hint=rule.nature,
            )
        if rule.choices:
            value = str(value).upper()
            if value not in rule.choices:
                raise scan.error(
                    literal.start, f"{rule.subject} must be one of {', '.join(rule.choices)}"
                )
        return value


def _combine(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """One node for ``items``: the item itself if alone, else ``kind`` with same-kind nested
    groups flattened into it."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        if isinstance(item, kind):
            flat.extend(item.items)
        else:
            flat.append(item)
    return kind(tuple(flat))


def _continues_word(text: str, pos: int) -> bool:
    return pos < len(text) and text[pos] in BARE_CHARS


def _to_number(text: str) -> int | float:
    """An int when written as one and it fits in 64 bits (what stores can bind), else a float."""
    if not any(char in text for char in ".eE") and len(text) <= 20:
        number = int(text)
        if -(2**63) <= number < 2**63:
            return number
    return float(text)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _join_or(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"

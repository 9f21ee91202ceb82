"""The run-search filter language and order-by clauses, parsed into small frozen trees.

A filter is MLflow's search syntax plus ``OR`` and parentheses::

    metrics.accuracy > 0.9 AND params.model = 'resnet' AND status IN ('RUNNING', 'FINISHED')
    (tags.team = 'vision' OR tags.team = 'nlp') AND attributes.start_time >= 1700000000000

Grammar (keywords are case-insensitive; ``AND`` binds tighter than ``OR``)::

    expr       := and_expr ( OR and_expr )*
    and_expr   := unary ( AND unary )*
    unary      := '(' expr ')' | condition
    condition  := identifier comparator [ value | '(' value ( ',' value )* ')' ]
    identifier := [ entity '.' ] key       key: bare word, or quoted with ` " or '

:func:`parse_filter` returns a :class:`Comparison`, :class:`And` or :class:`Or` tree (or
``None`` for an empty filter); :func:`parse_order_by` returns :class:`OrderBy` tuples. Every
mistake raises :class:`~keel.errors.InvalidArgument` whose message names the position
(counted from 1) and what was expected, then shows the text with a caret under the spot.

>>> parse_filter("metrics.acc > 0.9 AND params.model = 'cnn'")
And(items=(Comparison(entity='metric', key='acc', op='>', value=0.9), \
Comparison(entity='param', key='model', op='=', value='cnn')))
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from keel.errors import InvalidArgument

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


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

_ENTITY_ALIASES: dict[str, str] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}

_ATTRIBUTE_ALIASES: dict[str, str] = {
    "run_id": "run_id",
    "id": "run_id",
    "run_uuid": "run_id",
    "run_name": "run_name",
    "name": "run_name",
    "status": "status",
    "start_time": "start_time",
    "created": "start_time",
    "end_time": "end_time",
    "user_id": "user_id",
    "user": "user_id",
    "artifact_uri": "artifact_uri",
    "experiment_id": "experiment_id",
    "lifecycle_stage": "lifecycle_stage",
    "last_heartbeat": "last_heartbeat",
}

ATTRIBUTE_KEYS: tuple[str, ...] = tuple(dict.fromkeys(_ATTRIBUTE_ALIASES.values()))
ORDERABLE_ATTRIBUTES: tuple[str, ...] = (
    "run_name",
    "start_time",
    "end_time",
    "status",
    "run_id",
    "experiment_id",
    "last_heartbeat",
    "user_id",
)
DATASET_KEYS: tuple[str, ...] = ("name", "digest", "context")
RUN_STATUSES: tuple[str, ...] = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

_TIME_ATTRIBUTES = frozenset({"start_time", "end_time", "last_heartbeat"})

_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
_NULLABLE_STRING_OPS = (*_STRING_OPS, "IS NULL", "IS NOT NULL")
_ALL_OPS = (*_NUMBER_OPS[:6], *_STRING_OPS[2:], "IS NULL", "IS NOT NULL")

# Longest first, so "<=" wins over "<" and "==" over "=".
_SYMBOL_OPS: tuple[tuple[str, str], ...] = (
    ("==", "="),
    ("!=", "!="),
    ("<>", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("=", "="),
    ("<", "<"),
    (">", ">"),
)

_BARE_CHARS = frozenset(string.ascii_letters + string.digits + "_/.:-")
_OPERATOR_CHARS = frozenset("=!<>")
_QUOTES = ("`", '"', "'")
_VALUE_QUOTES = ('"', "'")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL_NUMBERS: dict[str, float] = {
    "nan": math.nan,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}
_KEY_EXAMPLES = "metrics.accuracy, params.lr, tags.team or status"


@dataclass(frozen=True, slots=True)
class _Rule:
    """What one identifier may be compared with."""

    subject: str  # how messages name it: "metrics", "start_time", "datasets.name"
    nature: str  # "metrics are numbers"
    numeric: bool
    ops: tuple[str, ...]
    choices: tuple[str, ...] = ()  # allowed values (upper-case), if restricted


def _rule_for(entity: str, key: str) -> _Rule:
    if entity == "metric":
        return _Rule("metrics", "metrics are numbers", True, _NUMBER_OPS)
    if entity == "param":
        return _Rule("params", "params are strings", False, _NULLABLE_STRING_OPS)
    if entity == "tag":
        return _Rule("tags", "tags are strings", False, _NULLABLE_STRING_OPS)
    if entity == "dataset":
        return _Rule(f"datasets.{key}", f"datasets.{key} is a string", False, _STRING_OPS)
    if key in _TIME_ATTRIBUTES:
        nature = f"{key} is a number (milliseconds since the epoch)"
        return _Rule(key, nature, True, _NUMBER_OPS)
    if key == "run_id":
        return _Rule(key, "run_id is a string", False, ("=", "!=", "LIKE", "IN", "NOT IN"))
    if key == "status":
        return _Rule(key, "status is a string", False, ("=", "!=", "IN", "NOT IN"), RUN_STATUSES)
    return _Rule(key, f"{key} is a string", False, _STRING_OPS)


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Identifier:
    entity: str
    key: str
    start: int  # where the identifier starts
    key_start: int  # where its key starts
    quoted: bool


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Value
    start: int
    end: int
    is_string: bool


class _Scanner:
    """A cursor over one filter or clause that knows how to report a mistake at a position."""

    def __init__(self, text: str, label: str, whole: str) -> None:
        self.text = text
        self.pos = 0
        self.label = label  # "filter" or "order_by[2]"
        self.whole = whole  # "filter" or "clause", for "found the end of the ..."

    # -- reporting ------------------------------------------------------------------------

    def error(
        self, pos: int, problem: str, *, found: bool = True, hint: str | None = None
    ) -> InvalidArgument:
        message = f"{self.label}: {problem} at position {pos + 1}"
        if found:
            message += f", found {self.describe(pos)}"
        if hint:
            message += f"; {hint}"
        return InvalidArgument(f"{message}\n{_pointer(self.text, pos)}")

    def describe(self, pos: int) -> str:
        """What the text holds at ``pos``, quoted, for "found ..." in messages."""
        if pos >= len(self.text):
            return f"the end of the {self.whole}"
        if self.text[pos].isspace():
            return "a space" if self.text[pos] == " " else "white space"
        return f'"{_shorten(self.token_at(pos))}"'

    def token_at(self, pos: int) -> str:
        text, char = self.text, self.text[pos]
        if char in _QUOTES:
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            return text[pos : end + 1]
        for chars in (_BARE_CHARS, _OPERATOR_CHARS):
            if char in chars:
                end = pos
                while end < len(text) and text[end] in chars:
                    end += 1
                return text[pos:end]
        return char

    # -- reading --------------------------------------------------------------------------

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_spaces()
        return self.pos >= len(self.text)

    def peek(self) -> str:
        """The next character after any spaces, or "" at the end."""
        self.skip_spaces()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def peek_word(self) -> str:
        """The bare word after any spaces, lower-cased, without consuming it."""
        self.skip_spaces()
        end = self.pos
        while end < len(self.text) and self.text[end] in _BARE_CHARS:
            end += 1
        return self.text[self.pos : end].lower()

    def read_word(self) -> str:
        """The bare word after any spaces (possibly empty), consumed."""
        self.skip_spaces()
        return self.read_bare()

    def read_bare(self) -> str:
        """The bare word right at the cursor (possibly empty), consumed."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _BARE_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def read_quoted(self) -> str:
        """A string in `, " or ' quotes; the quote itself is written doubled or as \\q."""
        text, start = self.text, self.pos
        quote = text[start]
        parts: list[str] = []
        i = start + 1
        while i < len(text):
            char = text[i]
            following = text[i + 1] if i + 1 < len(text) else ""
            if char == "\\" and following in (quote, "\\"):
                parts.append(following)
                i += 2
            elif char == quote and following == quote:
                parts.append(quote)
                i += 2
            elif char == quote:
                self.pos = i + 1
                return "".join(parts)
            else:
                parts.append(char)
                i += 1
        raise self.error(
            start,
            f"expected a closing {quote} for the string",
            found=False,
            hint=f"to put {quote} inside the string, double it or escape it as \\{quote}",
        )

    def read_identifier(self, expected: str) -> _Identifier:
        """``entity.key``, ``entity.`quoted key``` or a bare attribute name like ``status``."""
        self.skip_spaces()
        start = self.pos
        word = self.read_word()
        if not word or word.lower() in ("and", "or", "not"):
            hint = (
                "quoted keys need a prefix, e.g. metrics.`my key`"
                if self.peek() in _QUOTES
                else None
            )
            raise self.error(start, f"expected {expected}", hint=hint)
        dot = word.find(".")
        if dot == -1:
            if word.lower() in _ENTITY_ALIASES:
                raise self.error(self.pos, f'expected "." and a key after "{word}"')
            return _Identifier("attribute", word, start, start, quoted=False)
        prefix, key = word[:dot], word[dot + 1 :]
        entity = _ENTITY_ALIASES.get(prefix.lower())
        if entity is None:
            raise self.error(
                start,
                f'unknown prefix "{prefix}"',
                found=False,
                hint="expected metrics., params., tags., attributes. or datasets. "
                "(or an attribute with no prefix, such as status)",
            )
        key_start = start + dot + 1
        if key:
            return _Identifier(entity, key, start, key_start, quoted=False)
        if self.pos < len(self.text) and self.text[self.pos] in _QUOTES:
            key = self.read_quoted()
            if not key:
                raise self.error(key_start, "expected a non-empty key")
            return _Identifier(entity, key, start, key_start, quoted=True)
        raise self.error(
            self.pos,
            f'expected a key after "{word}"',
            hint=f"quote keys that contain spaces, e.g. {word}`my key`",
        )


def _join_or(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SPACES = str.maketrans("\t\n\r\f\v", "     ")


def _pointer(text: str, pos: int, width: int = 40) -> str:
    """Two lines: the text (a window of it, if long) and a caret under ``pos``."""
    shown = text.translate(_SPACES)
    start = max(0, pos - width)
    end = min(len(shown), pos + width)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(shown) else ""
    caret = " " * (len(prefix) + pos - start) + "^"
    return f"  {prefix}{shown[start:end]}{suffix}\n  {caret}"


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


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.scan = _Scanner(text, "filter", "filter")
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
        key = self.check_key(ident)
        rule = _rule_for(ident.entity, key)
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
        return Comparison(ident.entity, key, op, value)

    def check_key(self, ident: _Identifier) -> str:
        """The key, with attribute and dataset names checked and normalised."""
        if ident.entity == "attribute":
            return _attribute_key(self.scan, ident, ATTRIBUTE_KEYS)
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

    def read_operator(self, ident: _Identifier) -> tuple[str, int]:
        scan = self.scan
        scan.skip_spaces()
        start = scan.pos
        for symbol, op in _SYMBOL_OPS:
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
        hint = f"use one of {', '.join(_ALL_OPS)}"
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
        if char in _VALUE_QUOTES:
            text = scan.read_quoted()
            return _Literal(text, start, scan.pos, is_string=True)
        if char == "`":
            raise scan.error(
                start,
                "expected a number or a quoted string",
                hint="backticks quote keys; quote values with ' or \"",
            )
        match = _NUMBER.match(scan.text, start)
        if match and not _continues_word(scan.text, match.end()):
            scan.pos = match.end()
            return _Literal(_to_number(match.group()), start, scan.pos, is_string=False)
        sign = "+" if char == "+" else ""  # "-" is part of a bare word already; "+" is not
        scan.pos += len(sign)
        word = sign + scan.read_bare()
        special = _SPECIAL_NUMBERS.get(word.lower())
        if special is not None:
            return _Literal(special, start, scan.pos, is_string=False)
        if word.lower() == "null":
            hint = "use IS NULL or IS NOT NULL to test for a missing value"
        elif word and not match:
            hint = f"quote strings, e.g. '{word}'"
        else:
            hint = None
        raise scan.error(start, "expected a number or a quoted string", hint=hint)

    def require_string(self, rule: _Rule, op: str, literal: _Literal) -> None:
        if literal.is_string:
            return
        raw = self.scan.text[literal.start : literal.end]
        hint = f"write '{raw}'"
        if op not in rule.ops:
            allowed = ", ".join(rule.ops)
            hint += f"; also, {op} cannot be used with {rule.subject}: use one of {allowed}"
        raise self.scan.error(literal.start, f"{rule.nature}: quote the value", hint=hint)

    def check_value(self, rule: _Rule, literal: _Literal) -> Value:
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
    return pos < len(text) and text[pos] in _BARE_CHARS


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


def _attribute_key(scan: _Scanner, ident: _Identifier, allowed: tuple[str, ...]) -> str:
    """The canonical attribute name for ``ident`` (``created`` -> ``start_time``), if allowed."""
    key = _ATTRIBUTE_ALIASES.get(ident.key.lower())
    if key is None or key not in allowed:
        raise scan.error(
            ident.key_start,
            f'unknown attribute "{ident.key}"',
            found=False,
            hint=f"expected one of {', '.join(allowed)}",
        )
    return key


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
    scan = _Scanner(clause, label, "clause")
    ident = scan.read_identifier(f"a key such as {_KEY_EXAMPLES}")
    key = ident.key
    if ident.entity == "dataset":
        raise scan.error(
            ident.start,
            "runs cannot be ordered by datasets",
            found=False,
            hint="order by metrics., params., tags. or an attribute",
        )
    if ident.entity == "attribute":
        key = _attribute_key(scan, ident, ORDERABLE_ATTRIBUTES)
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
    return OrderBy(ident.entity, key, ascending)

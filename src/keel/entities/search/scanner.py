"""The scanner shared by filters and order-by clauses, and the error messages it builds.

Every mistake becomes an :class:`~keel.errors.InvalidArgument` whose message names the position
(counted from 1) and what was expected, then shows the text with a caret under the spot.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.entities.search.vocabulary import (
    ATTRIBUTE_ALIASES,
    BARE_CHARS,
    ENTITY_ALIASES,
    OPERATOR_CHARS,
    QUOTES,
)
from keel.errors import InvalidArgument

__all__ = ["Identifier", "Scanner", "attribute_key"]

# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identifier:
    entity: str
    key: str
    start: int  # where the identifier starts
    key_start: int  # where its key starts
    quoted: bool


class Scanner:
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
        if char in QUOTES:
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            return text[pos : end + 1]
        for chars in (BARE_CHARS, OPERATOR_CHARS):
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
        while end < len(self.text) and self.text[end] in BARE_CHARS:
            end += 1
        return self.text[self.pos : end].lower()

    def read_word(self) -> str:
        """The bare word after any spaces (possibly empty), consumed."""
        self.skip_spaces()
        return self.read_bare()

    def read_bare(self) -> str:
        """The bare word right at the cursor (possibly empty), consumed."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in BARE_CHARS:
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

    def read_identifier(self, expected: str) -> Identifier:
        """``entity.key``, ``entity.`quoted key``` or a bare attribute name like ``status``."""
        self.skip_spaces()
        start = self.pos
        word = self.read_word()
        if not word or word.lower() in ("and", "or", "not"):
            hint = (
                "quoted keys need a prefix, e.g. metrics.`my key`"
                if self.peek() in QUOTES
                else None
            )
            raise self.error(start, f"expected {expected}", hint=hint)
        dot = word.find(".")
        if dot == -1:
            if word.lower() in ENTITY_ALIASES:
                raise self.error(self.pos, f'expected "." and a key after "{word}"')
            return Identifier("attribute", word, start, start, quoted=False)
        prefix, key = word[:dot], word[dot + 1 :]
        entity = ENTITY_ALIASES.get(prefix.lower())
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
            return Identifier(entity, key, start, key_start, quoted=False)
        if self.pos < len(self.text) and self.text[self.pos] in QUOTES:
            key = self.read_quoted()
            if not key:
                raise self.error(key_start, "expected a non-empty key")
            return Identifier(entity, key, start, key_start, quoted=True)
        raise self.error(
            self.pos,
            f'expected a key after "{word}"',
            hint=f"quote keys that contain spaces, e.g. {word}`my key`",
        )


def attribute_key(scan: Scanner, ident: Identifier, allowed: tuple[str, ...]) -> str:
    """The canonical attribute name for ``ident`` (``created`` -> ``start_time``), if allowed."""
    key = ATTRIBUTE_ALIASES.get(ident.key.lower())
    if key is None or key not in allowed:
        raise scan.error(
            ident.key_start,
            f'unknown attribute "{ident.key}"',
            found=False,
            hint=f"expected one of {', '.join(allowed)}",
        )
    return key


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

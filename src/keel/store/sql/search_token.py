"""Keyset page tokens for run search: opaque to callers, checked on the way back in.

A token is URL-safe base64 (unpadded) of a JSON object: ``o``, a short digest of the
order-by clauses it was made for, and ``v``, the last run's sort values, ending with its
start time and run id. Floats travel as ``{"f": float.hex()}``: exact, and infinities
survive (JSON has none). A token that does not decode, was made for another order or
carries values of the wrong kinds is refused with :class:`InvalidArgument`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import orjson

from keel.entities.search import OrderBy
from keel.errors import InvalidArgument

Kind = Literal["float", "int", "str"]
_FORMAT = "keyset-1"


def _order_digest(order: Sequence[OrderBy]) -> str:
    clauses = [_FORMAT, *(f"{o.entity}.{o.key}.{'asc' if o.ascending else 'desc'}" for o in order)]
    return hashlib.blake2b(orjson.dumps(clauses), digest_size=6).hexdigest()


def _encode_value(value: Any) -> Any:
    return {"f": value.hex()} if isinstance(value, float) else value


def encode_page_token(order: Sequence[OrderBy], values: Sequence[Any]) -> str:
    body = {"o": _order_digest(order), "v": [_encode_value(v) for v in values]}
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode_page_token(
    token: str | None, order: Sequence[OrderBy], kinds: Sequence[tuple[Kind, bool]]
) -> list[Any] | None:
    """The sort values a token holds (``None`` for no token); ``kinds`` gives each sort
    key's kind and whether it may be NULL."""
    if not token:
        return None
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except Exception:
        body = None
    if not isinstance(body, dict) or set(body) != {"o", "v"}:
        raise InvalidArgument("page_token: not a token returned by search_runs")
    if body["o"] != _order_digest(order):
        raise InvalidArgument(
            "page_token: was returned by a search with another order_by; "
            "start again without a token"
        )
    raw = body["v"]
    if not isinstance(raw, list) or len(raw) != len(kinds):
        raise InvalidArgument("page_token: not a token returned by search_runs")
    return [
        _decode_value(v, kind, nullable) for v, (kind, nullable) in zip(raw, kinds, strict=True)
    ]


def _decode_value(value: Any, kind: Kind, nullable: bool) -> Any:
    if value is None and nullable:
        return None
    if kind == "float" and isinstance(value, dict) and set(value) == {"f"}:
        try:
            number = float.fromhex(value["f"])
        except (TypeError, ValueError):
            pass
        else:
            if number == number:  # a NaN is stored as NULL, never a sort value
                return number
    elif (kind == "int" and type(value) is int) or (kind == "str" and isinstance(value, str)):
        return value
    raise InvalidArgument("page_token: not a token returned by search_runs")

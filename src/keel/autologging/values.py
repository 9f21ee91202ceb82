"""Parameter values and metric keys as Keel stores them: short, printable strings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from keel.entities.rules import MAX_KEY_LENGTH, MAX_PARAM_VALUE_BYTES


def params(values: Mapping[Any, Any]) -> dict[str, str]:
    """``values`` rendered for logging: keys in a key's alphabet, values truncated."""
    return {key(str(name)): truncate(render(value)) for name, value in values.items()}


def render(value: Any) -> str:
    """A readable string for a parameter: numbers and strings as they are, containers
    element by element, an estimator or function by its type's name (never a ``repr``
    that may run for pages or hold an address that changes from run to run)."""
    if value is None or isinstance(value, str | bool | int | float | complex):
        return str(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(render(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in value.items()) + "}"
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return str(item())
        except Exception:
            pass
    name = getattr(value, "__name__", None)  # functions and classes
    if isinstance(name, str) and callable(value):
        return name
    return type(value).__name__


def truncate(text: str, limit: int = MAX_PARAM_VALUE_BYTES) -> str:
    text = text.replace("\x00", "")
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def key(name: str, limit: int = MAX_KEY_LENGTH) -> str:
    """``name`` in a param or metric key's alphabet (``[`` and the like become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:limit] or "_"

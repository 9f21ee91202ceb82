"""``PagedList``: one page of any paged answer, shaped as MLflow's.

A list (iterate, ``len()``, index, slice) that carries ``token``, the page token to pass
back for the next page (None on the last page), so code written for
``mlflow.store.entities.PagedList`` reads Keel's pages unchanged:

>>> page = PagedList(["a", "b"], "t2")
>>> len(page), page[0], page[:1], page.token
(2, 'a', ['a'], 't2')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class PagedList(list[T]):
    """One page of results; ``token`` fetches the next (None: there is none).

    Slicing gives a plain list: a slice is no longer the page that the token follows."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    @property
    def next_page_token(self) -> str | None:
        """The same as :attr:`token` (the name Keel's pages used first)."""
        return self.token

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PagedList) and self.token != other.token:
            return False
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # a list: mutable, never hashed

    def __repr__(self) -> str:
        return f"PagedList({list.__repr__(self)}, token={self.token!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (list(self), self.token))

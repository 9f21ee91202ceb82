"""What people type for an experiment or a run, turned into ids once for every command.

An experiment is its id or its name (``-e churn``). A run is its id or, as git takes a
commit, a unique prefix of it of at least four hex characters (``keel runs show 3f2a``):
found with one id-prefix search on the store (the server, for a remote one), never by
listing runs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from keel.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from keel.client import Client

MIN_PREFIX = 4
RUN_ID_LENGTH = 32
_HEX = frozenset("0123456789abcdef")
_SHOWN = 10  # candidates listed when a prefix is ambiguous


def experiment_ids(client: Client, given: Sequence[str]) -> list[str]:
    """The ids of the experiments named by id or name (NotFound for one that is neither,
    InvalidArgument for a name that is also another experiment's id)."""
    return [client.resolve_experiment(item).experiment_id for item in given]


def run_id(client: Client, given: str) -> str:
    """The run whose id is ``given`` or starts with it."""
    text = given.strip().lower()
    if any(char not in _HEX for char in text) or not text:
        raise InvalidArgument(f"run id {given!r}: expected hex characters (0-9, a-f)")
    if len(text) == RUN_ID_LENGTH:
        return text
    if len(text) > RUN_ID_LENGTH:
        raise InvalidArgument(f"run id {given!r}: longer than {RUN_ID_LENGTH} characters")
    if len(text) < MIN_PREFIX:
        raise InvalidArgument(f"run id {given!r}: a prefix needs at least {MIN_PREFIX} characters")
    from keel.entities import ViewType

    experiments = [e.experiment_id for e in client.search_experiments(ViewType.ALL)]
    found = (
        client.search_runs(
            experiments,
            f"attributes.run_id LIKE '{text}%'",
            view=ViewType.ALL,
            max_results=_SHOWN + 1,
        )
        if experiments
        else []
    )
    if not found:
        raise NotFound(f"run id {given!r}: no run's id starts with it")
    if len(found) > 1:
        listed = ", ".join(f"{r.info.run_id} ({r.info.run_name})" for r in found[:_SHOWN])
        more = " and more" if len(found) > _SHOWN else ""
        raise InvalidArgument(
            f"run id {given!r}: ambiguous, the prefix of {listed}{more}; give more characters"
        )
    return found[0].info.run_id


def run_ids(client: Client, given: Sequence[str]) -> list[str]:
    return [run_id(client, item) for item in given]


def run_source(client: Client, uri: str) -> str:
    """``runs:/<id or unique prefix>/<path>`` with the run's whole id."""
    scheme = "runs:/"
    if not uri.startswith(scheme):
        return uri  # the registry says what it takes
    given, sep, path = uri[len(scheme) :].partition("/")
    if len(given) == RUN_ID_LENGTH or not given:
        return uri
    return f"{scheme}{run_id(client, given)}{sep}{path}"

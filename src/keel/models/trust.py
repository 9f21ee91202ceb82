"""Whether a model may be loaded from a format that can run code (pickle and friends).

Unpickling calls whatever the file tells it to call, so a pickled model from a stranger is
a program from a stranger. Keel loads one only when the caller says so (``trust=True``) or
when its source starts with a prefix listed in ``KEEL_TRUSTED_MODEL_SOURCES``
(``Settings.trusted_model_sources``).

>>> is_trusted("models:/fraud/3", trust=False, trusted_sources=("models:/fraud",))
True
>>> is_trusted("models:/fraud-copy/1", trust=False, trusted_sources=("models:/fraud",))
False
"""

from __future__ import annotations

from collections.abc import Sequence

from keel.errors import Forbidden

_BOUNDARIES = ("/", "@", ":")


def is_trusted(source: str | None, *, trust: bool, trusted_sources: Sequence[str]) -> bool:
    """True when the caller trusts the model, or its source is under a trusted prefix.

    A prefix matches the source itself and what lies below it: ``s3://bucket/team`` trusts
    ``s3://bucket/team/model`` but not ``s3://bucket/team-b``. A source with a ``..``
    segment is never matched, so it cannot climb out of a trusted prefix.
    """
    if trust:
        return True
    if not source or ".." in source.replace("\\", "/").split("/"):
        return False
    return any(_under(source, prefix) for prefix in trusted_sources if prefix)


def _under(source: str, prefix: str) -> bool:
    if source == prefix or source.rstrip("/") == prefix.rstrip("/"):
        return True
    if not source.startswith(prefix):
        return False
    return prefix.endswith(_BOUNDARIES) or source[len(prefix)] in ("/", "@")


def refusal(what: str, why: str, source: str | None = None) -> Forbidden:
    """The error for a load that needs trust: what was refused, why, and how to opt in."""
    where = f"model {source!r}" if source else "model"
    return Forbidden(
        f"{where}: refusing to load {what}: {why}. Load it only if you trust where it came "
        "from: pass trust=True, or add its source to KEEL_TRUSTED_MODEL_SOURCES "
        "(comma-separated prefixes)"
    )


PICKLE_RISK = "unpickling runs any code the file carries"

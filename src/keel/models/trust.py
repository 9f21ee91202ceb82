"""Whether a model may be loaded from a format that can run code (pickle and friends).

Unpickling calls whatever the file tells it to call, so a pickled model from a stranger is
a program from a stranger. Keel loads one only when the caller says so (``trust=True``),
when its source starts with a prefix listed in ``KEEL_TRUSTED_MODEL_SOURCES``
(``Settings.trusted_model_sources``), or, for a registered version, when the registry
says its digest was approved by review (:func:`trusted_by_review`).

Trust follows review, not names. An alias or "the model's latest" moves, and whoever can
move it would choose what consumers run; so a ``models:/`` entry never matches as a
prefix. It names which registered versions may be trusted, and one is only if a
reviewer approved its digest through a promotion to an alias guarded by a policy:

- ``models:/fraud@champion``: the version ``champion`` points at, if its digest was
  approved;
- ``models:/fraud`` or ``models:/fraud/latest``: any version of ``fraud`` whose digest
  was approved;
- ``models:/fraud/3``: version 3, pinned (its digest is fixed at registration and
  checked on every load), approved or not;
- ``blake3:<hex>``: the version whose package has exactly that digest.

>>> is_trusted("s3://bucket/team/m", trust=False, trusted_sources=("s3://bucket/team",))
True
>>> is_trusted("models:/fraud/3", trust=False, trusted_sources=("models:/fraud",))
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keel.errors import Forbidden

_BOUNDARIES = ("/", "@", ":")
MODELS = "models:/"


def is_trusted(source: str | None, *, trust: bool, trusted_sources: Sequence[str]) -> bool:
    """True when the caller trusts the model, or its source is under a trusted prefix.

    A prefix matches the source itself and what lies below it: ``s3://bucket/team`` trusts
    ``s3://bucket/team/model`` but not ``s3://bucket/team-b``. A source with a ``..``
    segment is never matched, so it cannot climb out of a trusted prefix. A ``models:/``
    source is never trusted by its name: see :func:`trusted_by_review`.
    """
    if trust:
        return True
    if not source or ".." in source.replace("\\", "/").split("/"):
        return False
    if source.startswith(MODELS):
        return False
    return any(
        _under(source, prefix)
        for prefix in trusted_sources
        if prefix and not prefix.startswith(MODELS)
    )


@dataclass(frozen=True, slots=True)
class ReviewedVersion:
    """What the registry says of the version being loaded, its digest already checked
    against the package's stored manifest."""

    name: str
    version: int
    aliases: Sequence[str]
    digest: str
    approved_digest: str | None


def trusted_by_review(found: ReviewedVersion, trusted_sources: Sequence[str]) -> bool:
    """True when an entry of ``trusted_sources`` names this version (see the module's
    docstring) and, unless it pins the version's number or digest, the version's digest
    is the one a reviewer approved."""
    approved = found.approved_digest is not None and found.approved_digest == found.digest
    for entry in trusted_sources:
        if entry and entry == found.digest:
            return True
        if not entry.startswith(MODELS):
            continue
        rest = entry[len(MODELS) :].rstrip("/")
        name, at, alias = rest.partition("@")
        number = None
        if not at:
            name, slash, tail = rest.partition("/")
            if slash and tail != "latest":
                if not tail.isdigit():
                    continue  # not a models:/ address: matches nothing
                number = int(tail)
        if name != found.name:
            continue
        if number is not None:
            if number == found.version:
                return True
        elif (not at or alias in found.aliases) and approved:
            return True
    return False


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
        "from: pass trust=True, add its source to KEEL_TRUSTED_MODEL_SOURCES "
        "(comma-separated prefixes), or, for a registered version, have it approved through "
        "a promotion to an alias guarded by a policy and list models:/<name>@<alias> there"
    )


PICKLE_RISK = "unpickling runs any code the file carries"

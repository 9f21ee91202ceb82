"""The model registry: registered models, their versions, aliases, checks, promotion
requests and the audit trail, with the rules their names and values must meet.

A version starts PENDING_REVIEW. Its status then changes in two ways:

=================  ============================================  =========================
from               by deciding a promotion request (reviewer)    update_model_version
=================  ============================================  =========================
PENDING_REVIEW     APPROVED (approve) or REJECTED (reject)       ARCHIVED
APPROVED           stays APPROVED (approve or reject)            ARCHIVED
REJECTED           (cannot be proposed; resubmit first)          PENDING_REVIEW, ARCHIVED
ARCHIVED           (cannot be proposed)                          PENDING_REVIEW (restore)
=================  ============================================  =========================

``APPROVED`` and ``REJECTED`` are review decisions: only a reviewer other than the
requester reaches them. Only PENDING_REVIEW and APPROVED versions take an alias, so a
version an alias points at cannot be archived.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# The audit types moved to keel.entities.audit (every store writes the log); re-exported.
from keel.entities.audit import AuditAction as AuditAction
from keel.entities.audit import AuditPage as AuditPage
from keel.entities.audit import AuditRecord as AuditRecord
from keel.entities.json_depth import check_json_depth
from keel.entities.paging import PagedList
from keel.entities.rules import (
    check_choice,
    check_int,
    check_key,
    check_text,
)
from keel.errors import CorruptData, InvalidArgument

MAX_ALIAS_LENGTH = 64
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_DETAILS_BYTES = 64 * 1024
MAX_REQUIRED_CHECKS = 100
MAX_REGISTRY_RESULTS = 10_000

_ALIAS = re.compile(r"[a-z0-9_-]+")
_CONTENT_HASH = re.compile(r"[A-Za-z0-9:_.-]{8,160}")


class ModelVersionStatus(StrEnum):
    PENDING_REVIEW = "PENDING_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ARCHIVED = "ARCHIVED"

    @classmethod
    def parse(cls, value: object) -> ModelVersionStatus:
        return check_choice(cls, value, "status")


OWNER_TRANSITIONS: dict[ModelVersionStatus, frozenset[ModelVersionStatus]] = {
    ModelVersionStatus.PENDING_REVIEW: frozenset({ModelVersionStatus.ARCHIVED}),
    ModelVersionStatus.APPROVED: frozenset({ModelVersionStatus.ARCHIVED}),
    ModelVersionStatus.REJECTED: frozenset(
        {ModelVersionStatus.PENDING_REVIEW, ModelVersionStatus.ARCHIVED}
    ),
    ModelVersionStatus.ARCHIVED: frozenset({ModelVersionStatus.PENDING_REVIEW}),
}
"""Status changes ``update_model_version`` may make; the others are review decisions."""

ALIASABLE = frozenset({ModelVersionStatus.PENDING_REVIEW, ModelVersionStatus.APPROVED})
"""Statuses a version may have while an alias points at it."""


class PromotionState(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"

    @classmethod
    def parse(cls, value: object) -> PromotionState:
        return check_choice(cls, value, "state")


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    aliases: dict[str, int] = field(default_factory=dict)
    """alias -> version"""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    source: str
    """``runs:/<run_id>/<path>``: the folder of the run's artifacts holding the model."""
    run_id: str
    content_hash: str
    """The model package's manifest digest."""
    status: ModelVersionStatus = ModelVersionStatus.PENDING_REVIEW
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    signature: str | None = None
    """The model's input/output signature as JSON text."""
    parent_version: int | None = None
    created: int = 0
    updated: int = 0
    created_by: str = ""
    aliases: list[str] = field(default_factory=list)
    approved_digest: str | None = None
    """The digest a reviewer approved through a promotion to an alias guarded by a policy
    (the version's ``content_hash`` then), else None: what trusting it by review means."""

    def check_manifest_digest(self, digest: str) -> None:
        """CorruptData unless the package's manifest has the BLAKE3 ``digest`` (hex)
        recorded when this version was registered."""
        if f"blake3:{digest}" != self.content_hash:
            raise CorruptData(
                f"model {self.name}/{self.version}: its package changed since it was "
                f"registered (registered {self.content_hash}, now blake3:{digest})"
            )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One run of a named check (a test, an evaluation gate) against a version. The
    latest result of each check is the one that counts."""

    name: str
    version: int
    check: str
    passed: bool
    details: dict[str, Any] | None = None
    created: int = 0
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    id: int
    name: str
    version: int
    alias: str
    requested_by: str
    state: PromotionState = PromotionState.OPEN
    reviewer: str | None = None
    comment: str | None = None
    created: int = 0
    decided: int | None = None
    approved_digest: str | None = None
    """On an approval to an alias guarded by a policy: the version's digest as approved."""


@dataclass(frozen=True, slots=True)
class AliasPolicy:
    """Checks a version must have passed (latest result) before ``alias`` may point at it."""

    name: str
    alias: str
    required_checks: list[str] = field(default_factory=list)


class RegisteredModelPage(PagedList[RegisteredModel]):
    """One page of registered models (a :class:`~keel.entities.paging.PagedList`)."""

    @property
    def models(self) -> list[RegisteredModel]:
        """The page itself (the name Keel's pages used first)."""
        return self


class ModelVersionPage(PagedList[ModelVersion]):
    """One page of model versions (a :class:`~keel.entities.paging.PagedList`)."""

    @property
    def versions(self) -> list[ModelVersion]:
        """The page itself (the name Keel's pages used first)."""
        return self


# rules ---------------------------------------------------------------------------------


def check_alias(value: object, field: str = "alias") -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(
            f"{field} {value[:40]!r}: must be at most {MAX_ALIAS_LENGTH} characters"
        )
    if not _ALIAS.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value!r}: may contain only lowercase letters, digits, '-' and '_'"
        )
    if value.isdigit():
        raise InvalidArgument(
            f"{field} {value!r}: must not be only digits (it would read as a version number)"
        )
    return value


def check_check_name(value: object) -> str:
    return check_key("check name", value)


def check_content_hash(value: object) -> str:
    if not isinstance(value, str) or not _CONTENT_HASH.fullmatch(value):
        raise InvalidArgument(
            "content_hash: must be the model package's manifest digest, 8 to 160 characters "
            f"of letters, digits, ':', '_', '.' and '-', got {value!r}"
        )
    return value


def check_signature(value: object) -> str | None:
    if value is None:
        return None
    text = check_text("signature", value, MAX_SIGNATURE_BYTES)
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"signature: must be JSON text ({exc})") from None
    return text


def check_details(value: object) -> dict[str, Any] | None:
    """A check's details: a JSON object of at most ``MAX_DETAILS_BYTES``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"details: must be a JSON object, got {type(value).__name__}")
    check_json_depth("details", value)  # deeper breaks every later read of it
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgument(f"details: must be plain JSON ({exc})") from None
    if len(encoded.encode("utf-8")) > MAX_DETAILS_BYTES:
        raise InvalidArgument(f"details: must be at most {MAX_DETAILS_BYTES} bytes as JSON")
    normal: dict[str, Any] = json.loads(encoded)  # as it will read back: keys are strings
    return normal


def check_required_checks(value: object) -> list[str]:
    """A policy's checks: distinct check names, sorted; empty lifts the guard."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidArgument("required_checks: must be a list of check names")
    if len(value) > MAX_REQUIRED_CHECKS:
        raise InvalidArgument(
            f"required_checks: at most {MAX_REQUIRED_CHECKS} checks, got {len(value)}"
        )
    return sorted({check_check_name(c) for c in value})


def check_registry_max_results(value: object) -> int:
    n = check_int("max_results", value, minimum=1)
    if n > MAX_REGISTRY_RESULTS:
        raise InvalidArgument(f"max_results: must be at most {MAX_REGISTRY_RESULTS}, got {n}")
    return n

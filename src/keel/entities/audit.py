"""The audit log: one append-only record per change to anything users share
(experiments, runs' lifecycle, registered models and their versions, aliases, policies,
checks, promotion decisions, datasets, and who may do what: users, tokens, projects,
grants, groups), written in the transaction of the change.

A record names its resource by type and name (``model``/``fraud``,
``experiment``/``12``, ``run``/``<run id>``, ``dataset``/``customers``, ``user``/``bob``,
``token``/``<token id>``, ``project``/``fraud``, ``grant``/``<project>``,
``group``/``data-team``, ``deployment``/``fraud-api``), who acted, when,
the request it came with (a server's ``X-Request-ID``) and the resource's fields before
and after. The database refuses to update or delete a record (a trigger on SQLite and
PostgreSQL), so no code path, Keel's or anyone's with the database's password, rewrites it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from keel.entities.paging import PagedList
from keel.entities.rules import check_choice
from keel.errors import InvalidArgument

MAX_REQUEST_ID_LENGTH = 128
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ResourceType(StrEnum):
    """What kind of thing an audit record is about."""

    MODEL = "model"
    EXPERIMENT = "experiment"
    RUN = "run"
    DATASET = "dataset"
    USER = "user"
    """A user or a service account, by name."""
    TOKEN = "token"
    """An API token, by id (never its secret)."""
    PROJECT = "project"
    GRANT = "grant"
    """A role on a project, by the project's name; the grantee is in ``after``/``before``."""
    GROUP = "group"
    MONITOR = "monitor"
    DEPLOYMENT = "deployment"

    @classmethod
    def parse(cls, value: object) -> ResourceType:
        return check_choice(cls, value, "resource_type")


ACCESS_RESOURCE_TYPES = frozenset(
    {
        ResourceType.USER,
        ResourceType.TOKEN,
        ResourceType.PROJECT,
        ResourceType.GRANT,
        ResourceType.GROUP,
    }
)
"""Who may do what: belongs to no project, so only admins read these records."""


class AuditAction(StrEnum):
    """What an audit record says happened."""

    MODEL_CREATE = "model.create"
    MODEL_UPDATE = "model.update"
    MODEL_DELETE = "model.delete"
    MODEL_TAG_SET = "model.tag.set"
    MODEL_TAG_DELETE = "model.tag.delete"
    VERSION_CREATE = "version.create"
    VERSION_UPDATE = "version.update"
    VERSION_TAG_SET = "version.tag.set"
    VERSION_TAG_DELETE = "version.tag.delete"
    ALIAS_SET = "alias.set"
    ALIAS_DELETE = "alias.delete"
    ALIAS_POLICY_SET = "alias_policy.set"
    CHECK_RECORD = "check.record"
    PROMOTION_REQUEST = "promotion.request"
    PROMOTION_APPROVE = "promotion.approve"
    PROMOTION_REJECT = "promotion.reject"
    PROMOTION_CANCEL = "promotion.cancel"
    EXPERIMENT_CREATE = "experiment.create"
    EXPERIMENT_DELETE = "experiment.delete"
    EXPERIMENT_RESTORE = "experiment.restore"
    EXPERIMENT_TAG_SET = "experiment.tag.set"
    RUN_CREATE = "run.create"
    RUN_UPDATE = "run.update"
    RUN_END = "run.end"
    RUN_DELETE = "run.delete"
    RUN_RESTORE = "run.restore"
    DATASET_VERSION_CREATE = "dataset.version.create"
    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_ROTATE = "token.rotate"
    PROJECT_CREATE = "project.create"
    PROJECT_DELETE = "project.delete"
    PROJECT_MOVE = "project.move"
    PROJECT_QUOTA = "project.quota"
    GRANT_SET = "grant.set"
    MONITOR_CREATE = "monitor.create"
    MONITOR_DELETE = "monitor.delete"
    ALERT_FIRE = "alert.fire"
    ALERT_RESOLVE = "alert.resolve"
    GRANT_REVOKE = "grant.revoke"
    GROUP_CREATE = "group.create"
    GROUP_DELETE = "group.delete"
    GROUP_MEMBER_ADD = "group.member.add"
    GROUP_MEMBER_REMOVE = "group.member.remove"
    DEPLOYMENT_CREATE = "deployment.create"
    DEPLOYMENT_TRAFFIC = "deployment.traffic"
    DEPLOYMENT_PROMOTE = "deployment.promote"
    DEPLOYMENT_ROLLBACK = "deployment.rollback"
    DEPLOYMENT_DELETE = "deployment.delete"

    @classmethod
    def parse(cls, value: object) -> AuditAction:
        return check_choice(cls, value, "action")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An append-only record of one change: who, when, what, before and after."""

    id: int
    at: int
    actor: str
    action: AuditAction
    name: str
    """The resource's name or id: a model's or dataset's name, an experiment's or run's id."""
    version: int | None = None
    """A model's or dataset's version; for a deployment, the revision the change made."""
    alias: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    resource_type: ResourceType = ResourceType.MODEL
    request_id: str | None = None


class AuditPage(PagedList[AuditRecord]):
    """One page of audit records (a :class:`~keel.entities.paging.PagedList`)."""

    @property
    def records(self) -> list[AuditRecord]:
        """The page itself (the name Keel's pages used first)."""
        return self


def check_request_id(value: object) -> str:
    """A request id as a server passes it on: 1 to 128 letters, digits, ``._:-``."""
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise InvalidArgument(
            f"request id {str(value)[:40]!r}: must be 1 to {MAX_REQUEST_ID_LENGTH} letters, "
            "digits, '.', '_', ':' or '-'"
        )
    return value

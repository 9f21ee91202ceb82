"""``SqlRegistryStore``: the model registry on SQLite or PostgreSQL.

It shares the tracking database: a version's source is checked against the ``runs`` and
``artifacts`` tables directly, and its digest and signature are derived from the model's
manifest as stored in the run's artifact root (see :mod:`keel.store.sql.model_sources`),
never taken from the caller. Each method checks its input first, then reads and writes
in one transaction (a registration whose manifest was never read reads it between two
tries, holding no lock while it waits on storage). A write locks its model's row first
(:func:`_change`), so writes to one model are serialised on PostgreSQL as SQLite's write
lock serialises all writes, and appends the audit record of every change it makes in
that transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.entities import registry as r
from keel.entities import rules as v
from keel.entities.audit import ResourceType
from keel.entities.registry import (
    AliasPolicy,
    AuditAction,
    AuditPage,
    CheckResult,
    ModelVersion,
    ModelVersionPage,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
    RegisteredModelPage,
)
from keel.entities.rules import check_actor, check_model_name, check_text, check_version
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store.sql import registry_rows as rows
from keel.store.sql.aliases import (
    guard_alias,
    lock_model,
    move_alias,
    remove_alias,
    require_version,
)
from keel.store.sql.audit import Change, search_audit
from keel.store.sql.audit_filter import audit_filter
from keel.store.sql.checks import append_check, load_policies
from keel.store.sql.engine import make_engine, now_ms, read_transaction, write_transaction
from keel.store.sql.model_sources import ManifestReader, locate_manifest, parse_model_source
from keel.store.sql.promotions import cancel_request, decide_request, locked_request, open_request
from keel.store.sql.registered_models import delete_model, describe_model, insert_model
from keel.store.sql.tables import (
    check_results,
    model_aliases,
    model_versions,
    promotion_requests,
    registered_models,
)
from keel.store.sql.tags import delete_tag, set_tag
from keel.store.sql.versions import change_version, check_owner_transition, insert_version

MAX_ATTEMPTS = 3
"""Of a registration whose manifest is read, or whose model is created, meanwhile."""


class SqlRegistryStore:
    """Registered models, versions, aliases, checks, promotions and audit in SQL.

    The constructor only builds an engine; use :func:`keel.store.open_registry` (which
    checks the schema) or run ``keel db upgrade``.
    """

    def __init__(self, url: str | Engine) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self._manifests = ManifestReader()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _change(self, name: str, actor: str) -> Iterator[Change]:
        """A write transaction on one existing model, its row locked."""
        check_actor(actor)
        with write_transaction(self.engine) as conn:
            lock_model(conn, name)
            yield Change(conn, name, actor, now_ms())

    # registered models ---------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str = "",
        tags: dict[str, str] | None = None,
        actor: str,
        project: str | None = None,
    ) -> RegisteredModel:
        """A new model, in ``project`` (a project's name; by default ``default``)."""
        check_model_name(name)
        check_text("description", description)
        checked = dict(v.check_tag(k, val) for k, val in (tags or {}).items())
        check_actor(actor)
        try:
            with write_transaction(self.engine) as conn:
                return insert_model(
                    conn, name, description, checked, actor=actor, now=now_ms(), project=project
                )
        except SqlIntegrityError:  # created by another writer since the check
            raise AlreadyExists(f"model {name!r}: already exists") from None

    def get_registered_model(self, name: str) -> RegisteredModel:
        check_model_name(name)
        with read_transaction(self.engine) as conn:
            found = rows.load_models(conn, [name])
        if not found:
            raise NotFound(f"model {name!r}: no such model")
        return found[0]

    def search_registered_models(
        self,
        name_like: str | None = None,
        *,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RegisteredModelPage:
        r.check_registry_max_results(max_results)
        after = rows.decode_token("models", page_token, str)
        c = registered_models.c
        query = select(c.name).order_by(c.name).limit(max_results + 1)
        if name_like is not None:
            query = query.where(c.name.ilike(check_text("name_like", name_like, 1000)))
        if after is not None:
            query = query.where(c.name > after)
        with read_transaction(self.engine) as conn:
            names = list(conn.execute(query).scalars())
            found = rows.load_models(conn, names[:max_results])
        more = len(names) > max_results
        return RegisteredModelPage(
            found, rows.encode_token("models", names[max_results - 1]) if more else None
        )

    def update_registered_model(
        self, name: str, *, description: str, actor: str
    ) -> RegisteredModel:
        check_model_name(name)
        check_text("description", description)
        with self._change(name, actor) as change:
            describe_model(change, description)
            return rows.load_models(change.conn, [name])[0]

    def delete_registered_model(self, name: str, *, actor: str) -> None:
        check_model_name(name)
        with self._change(name, actor) as change:
            delete_model(change)

    def set_registered_model_tag(self, name: str, key: str, value: str, *, actor: str) -> None:
        check_model_name(name)
        key, value = v.check_tag(key, value)
        with self._change(name, actor) as change:
            set_tag(change, key, value)

    def delete_registered_model_tag(self, name: str, key: str, *, actor: str) -> None:
        check_model_name(name)
        with self._change(name, actor) as change:
            delete_tag(change, key)

    # versions ------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str = "",
        parent_version: int | None = None,
        tags: dict[str, str] | None = None,
        create_model: bool = False,
        actor: str,
        project: str | None = None,
    ) -> ModelVersion:
        check_model_name(name)
        parsed = parse_model_source(source, run_id)
        check_text("description", description)
        if parent_version is not None:
            check_version(parent_version, "parent_version")
        checked = dict(v.check_tag(k, val) for k, val in (tags or {}).items())
        if not isinstance(create_model, bool):
            raise InvalidArgument(f"create_model: must be true or false, got {create_model!r}")
        check_actor(actor)
        for _ in range(MAX_ATTEMPTS):
            try:
                with write_transaction(self.engine) as conn:
                    stored = locate_manifest(conn, parsed)
                    package = self._manifests.known(stored)
                    if package is not None:
                        return insert_version(
                            Change(conn, name, actor, now_ms()),  # it locks the model's row
                            source=parsed,
                            package=package,
                            description=description,
                            parent_version=parent_version,
                            tags=checked,
                            create_model=create_model,
                            project=project,
                        )
            except (SqlIntegrityError, AlreadyExists):
                if not create_model:
                    raise
                # Another writer created the model meanwhile: seen as a duplicate row, or
                # (PostgreSQL, read committed) as its row committed since our first look.
                continue
            # A manifest not read since it was recorded: read it with no lock held (storage
            # may be remote), then go again.
            self._manifests.read(stored)
        raise Conflict(f"source {source!r}: its manifest kept changing as it was registered")

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        check_model_name(name)
        check_version(version)
        with read_transaction(self.engine) as conn:
            found = rows.load_versions(conn, name, [version])
            if not found:
                self._require_model_version(conn, name, version)
        return found[0]

    def search_model_versions(
        self,
        name: str,
        *,
        status: ModelVersionStatus | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelVersionPage:
        check_model_name(name)
        r.check_registry_max_results(max_results)
        before = rows.decode_token("versions", page_token, int)
        mv = model_versions.c
        query = select(mv.version).where(mv.name == name)
        if status is not None:
            query = query.where(mv.status == ModelVersionStatus.parse(status).value)
        if before is not None:
            query = query.where(mv.version < before)
        query = query.order_by(mv.version.desc()).limit(max_results + 1)
        with read_transaction(self.engine) as conn:
            self._require_model(conn, name)
            numbers = list(conn.execute(query).scalars())
            found = rows.load_versions(conn, name, numbers[:max_results])
        more = len(numbers) > max_results
        token = rows.encode_token("versions", numbers[max_results - 1]) if more else None
        return ModelVersionPage(found, token)

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        status: ModelVersionStatus | str | None = None,
        actor: str,
    ) -> ModelVersion:
        check_model_name(name)
        check_version(version)
        if description is not None:
            check_text("description", description)
        wanted = ModelVersionStatus.parse(status) if status is not None else None
        with self._change(name, actor) as change:
            row = require_version(change.conn, name, version)
            if wanted is not None:
                check_owner_transition(name, version, ModelVersionStatus(row.status), wanted)
            change_version(change, version, description=description, status=wanted)
            return rows.load_versions(change.conn, name, [version])[0]

    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, actor: str
    ) -> None:
        check_model_name(name)
        check_version(version)
        key, value = v.check_tag(key, value)
        with self._change(name, actor) as change:
            require_version(change.conn, name, version)
            set_tag(change, key, value, version=version)

    def delete_model_version_tag(self, name: str, version: int, key: str, *, actor: str) -> None:
        check_model_name(name)
        check_version(version)
        with self._change(name, actor) as change:
            require_version(change.conn, name, version)
            delete_tag(change, key, version=version)

    # aliases and policies ------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> None:
        check_model_name(name)
        r.check_alias(alias)
        check_version(version)
        with self._change(name, actor) as change:
            move_alias(change, alias, version)

    def delete_alias(self, name: str, alias: str, *, actor: str) -> None:
        check_model_name(name)
        r.check_alias(alias)
        with self._change(name, actor) as change:
            remove_alias(change, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        check_model_name(name)
        r.check_alias(alias)
        a = model_aliases.c
        with read_transaction(self.engine) as conn:
            version = conn.execute(
                select(a.version).where(a.name == name, a.alias == alias)
            ).scalar_one_or_none()
            if version is None:
                self._require_model(conn, name)
                raise NotFound(f"alias {alias!r} of model {name!r}: no such alias")
            return rows.load_versions(conn, name, [version])[0]

    def set_alias_policy(
        self, name: str, alias: str, required_checks: Sequence[str], *, actor: str
    ) -> AliasPolicy:
        check_model_name(name)
        r.check_alias(alias)
        required = r.check_required_checks(required_checks)
        with self._change(name, actor) as change:
            guard_alias(change, alias, required)
        return AliasPolicy(name, alias, required)

    def get_alias_policies(self, name: str) -> list[AliasPolicy]:
        check_model_name(name)
        with read_transaction(self.engine) as conn:
            self._require_model(conn, name)
            return load_policies(conn, name)

    # checks --------------------------------------------------------------------------

    def record_check(
        self,
        name: str,
        version: int,
        check: str,
        passed: bool,
        *,
        details: dict[str, Any] | None = None,
        actor: str,
    ) -> CheckResult:
        check_model_name(name)
        check_version(version)
        r.check_check_name(check)
        if not isinstance(passed, bool):
            raise InvalidArgument(f"passed: must be true or false, got {passed!r}")
        details = r.check_details(details)
        with self._change(name, actor) as change:
            require_version(change.conn, name, version)
            append_check(change, version, check, passed, details)
        return CheckResult(name, version, check, passed, details, change.now, actor)

    def list_checks(self, name: str, version: int) -> list[CheckResult]:
        check_model_name(name)
        check_version(version)
        cr = check_results.c
        query = select(*rows.CHECK_COLUMNS).where(cr.name == name, cr.version == version)
        with read_transaction(self.engine) as conn:
            self._require_model_version(conn, name, version)
            found = conn.execute(query.order_by(cr.id)).all()
        return [rows.check_result(row) for row in found]

    # promotion requests --------------------------------------------------------------

    def create_promotion_request(
        self, name: str, version: int, alias: str, *, actor: str
    ) -> PromotionRequest:
        check_model_name(name)
        check_version(version)
        r.check_alias(alias)
        with self._change(name, actor) as change:
            request_id = open_request(change, version, alias)
            return self._request(change.conn, request_id)

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        check_version(request_id, "request id")
        with read_transaction(self.engine) as conn:
            return self._request(conn, request_id)

    def decide_promotion_request(
        self, request_id: int, *, approve: bool, reviewer: str, comment: str | None = None
    ) -> PromotionRequest:
        check_version(request_id, "request id")
        if not isinstance(approve, bool):
            raise InvalidArgument(f"approve: must be true or false, got {approve!r}")
        check_actor(reviewer, "reviewer")
        if comment is not None:
            check_text("comment", comment)
        with write_transaction(self.engine) as conn:
            request = locked_request(conn, request_id)
            change = Change(conn, request.name, reviewer, now_ms())
            decide_request(change, request, approve=approve, comment=comment)
            return self._request(conn, request_id)

    def cancel_promotion_request(self, request_id: int, *, actor: str) -> PromotionRequest:
        check_version(request_id, "request id")
        check_actor(actor)
        with write_transaction(self.engine) as conn:
            request = locked_request(conn, request_id)
            cancel_request(Change(conn, request.name, actor, now_ms()), request)
            return self._request(conn, request_id)

    def list_promotion_requests(
        self,
        name: str | None = None,
        *,
        state: PromotionState | str | None = None,
        max_results: int = 100,
    ) -> list[PromotionRequest]:
        r.check_registry_max_results(max_results)
        p = promotion_requests.c
        query = select(promotion_requests).order_by(p.id.desc()).limit(max_results)
        if state is not None:
            query = query.where(p.state == PromotionState.parse(state).value)
        if name is not None:
            query = query.where(p.name == check_model_name(name))
        with read_transaction(self.engine) as conn:
            if name is not None:
                self._require_model(conn, name)
            return [rows.promotion_request(row) for row in conn.execute(query)]

    # audit ---------------------------------------------------------------------------

    def list_audit(
        self,
        name: str | None = None,
        *,
        resource_type: ResourceType | str | None = None,
        action: AuditAction | str | None = None,
        actor: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> AuditPage:
        """The audit log of the whole database (every store writes it), oldest first;
        ``name`` is the resource's name or id (a model's when ``resource_type`` is None
        or ``model``)."""
        wanted = audit_filter(
            name,
            resource_type=resource_type,
            action=action,
            actor=actor,
            since=since,
            until=until,
        )
        r.check_registry_max_results(max_results)
        with read_transaction(self.engine) as conn:
            return search_audit(conn, wanted, max_results=max_results, page_token=page_token)

    # ---------------------------------------------------------------------------------

    @staticmethod
    def _require_model(conn: Connection, name: str) -> None:
        c = registered_models.c
        if conn.execute(select(c.name).where(c.name == name)).first() is None:
            raise NotFound(f"model {name!r}: no such model")

    @classmethod
    def _require_model_version(cls, conn: Connection, name: str, version: int) -> None:
        cls._require_model(conn, name)  # "no such model" rather than "no such version"
        require_version(conn, name, version)

    @staticmethod
    def _request(conn: Connection, request_id: int) -> PromotionRequest:
        found = rows.load_request(conn, request_id)
        if found is None:
            raise NotFound(f"promotion request {request_id}: no such request")
        return found


__all__ = ["SqlRegistryStore"]

"""Everything one tracking URI gives, built in one place: :func:`open_backend`.

A SQL URI gives one engine, shared by the tracking, registry and dataset stores, and the
artifact root beside it; a ``keel server`` URI gives one HTTP session, shared by the same
three stores and the artifacts proxied through the server. Each part is built on first
use, so a command that only reads the registry never builds the tracking store's types,
and code above the stores never asks which kind it has: it reads :attr:`Backend.remote`.

>>> backend = open_backend("/tmp/keel-demo", Settings.from_env())    # doctest: +SKIP
>>> backend.registry.get_registered_model("fraud")                   # doctest: +SKIP
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from keel.uri import StoreKind, TrackingTarget, resolve_tracking_uri

if TYPE_CHECKING:
    from keel.artifacts.repository import ArtifactRepository, RunArtifacts
    from keel.config import Settings
    from keel.store.base import TrackingStore
    from keel.store.datasets import DatasetStore
    from keel.store.deployments import DeploymentReader
    from keel.store.prediction_files import PredictionFiles
    from keel.store.registry import RegistryStore
    from keel.store.rest.access import CallerAccess, RestAccess
    from keel.store.rest.datasets import ServerObjects
    from keel.store.rest.deployments import RestDeploymentStore
    from keel.store.rest.monitors import RestMonitors
    from keel.store.sql.access import SqlAccessStore
    from keel.store.sql.deployments import SqlDeploymentStore
    from keel.store.sql.monitors import SqlMonitorStore
    from keel.store.sql.quotas import SqlQuotas
    from keel.store.sql.store import SqlTrackingStore


class Backend:
    """The stores behind one tracking URI. Build it with :func:`open_backend`."""

    def __init__(self, uri: str, target: TrackingTarget, settings: Settings, *, migrate: bool):
        self.uri = uri
        """The tracking URI as given."""
        self.target = target
        self.remote = target.kind is StoreKind.REST
        """True for a ``keel server``: writes spool while it is away, data is pushed to it."""
        self._settings = settings
        self._migrate = migrate
        self._lock = threading.RLock()
        self._closed = False

    # what a URI is built from: one engine, or one HTTP session -------------------------

    @cached_property
    def _engine(self) -> Any:
        from keel.store.sql.engine import make_engine

        with self._lock:
            engine = make_engine(self.target.uri)
            if self._migrate:
                from keel.store.sql.migrate import ensure_schema

                ensure_schema(engine)
            return engine

    @cached_property
    def _http(self) -> Any:
        from keel.store.rest.http import Http

        with self._lock:
            from keel.store.rest.credentials import saved_token

            token = self._settings.tracking_token or saved_token(self._settings, self.target.uri)
            return Http(self.target.uri, timeout=self._settings.http_timeout, token=token)

    @property
    def artifact_root(self) -> str | None:
        """Where a SQL store's artifacts live (``None`` for a server: it keeps its own)."""
        if self.remote:
            return None
        return self.target.artifacts_uri or str((self._settings.home / "artifacts").resolve())

    # the stores -------------------------------------------------------------------------

    @cached_property
    def tracking(self) -> TrackingStore:
        with self._lock:
            if self.remote:
                from keel.store.rest.store import RestTrackingStore

                return RestTrackingStore(self._http)
            return self._sql_tracking

    @cached_property
    def _sql_tracking(self) -> SqlTrackingStore:
        from keel.store.sql.store import SqlTrackingStore

        assert self.artifact_root is not None
        return SqlTrackingStore(
            self._engine, artifact_root=self.artifact_root, actor=self._local_user()
        )

    def _local_user(self) -> str:
        """Who the audit log names for tracking changes made here with no actor bound."""
        if self._settings.user:
            return self._settings.user
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # no login name (a container without a passwd entry)
            return "anonymous"

    @cached_property
    def registry(self) -> RegistryStore:
        with self._lock:
            if self.remote:
                from keel.store.rest.registry import RestRegistryStore

                return RestRegistryStore(self._http)
            from keel.store.sql.registry import SqlRegistryStore

            return SqlRegistryStore(self._engine)

    @cached_property
    def server_objects(self) -> ServerObjects:
        """A ``keel server``'s dataset objects, through the one HTTP session of this
        backend (and so with its API token)."""
        from keel.store.rest.datasets import ServerObjects

        if not self.remote:
            raise TypeError(f"{self.uri!r} is not a keel server: its objects need no server")
        return ServerObjects(self._http)

    @cached_property
    def datasets(self) -> DatasetStore:
        with self._lock:
            if self.remote:
                from keel.store.rest.datasets import RestDatasetStore

                return RestDatasetStore(self._http)
            from keel.store.sql.datasets import SqlDatasetStore

            return SqlDatasetStore(self._engine)

    @cached_property
    def deployments(self) -> DeploymentReader:
        """Deployments and their history, read: the SQL store or the server's. A model
        server follows a deployment through this (``get_deployment(name).revision``)."""
        if self.remote:
            return self.deployments_api
        return self.deployment_store

    @cached_property
    def deployment_store(self) -> SqlDeploymentStore:
        """A database's deployments, read and written (changes go through
        ``keel.deployments.DeploymentService``, which holds their rules)."""
        with self._lock:
            if self.remote:
                raise AssertionError("deployment_store is a database's; use deployments_api")
            from keel.store.sql.deployments import SqlDeploymentStore

            return SqlDeploymentStore(self._engine)

    @cached_property
    def deployments_api(self) -> RestDeploymentStore:
        """Deployments through a ``keel server``: its routes apply the rules."""
        with self._lock:
            if not self.remote:
                raise AssertionError("deployments_api is a server's; use deployment_store")
            from keel.store.rest.deployments import RestDeploymentStore

            return RestDeploymentStore(self._http)

    @cached_property
    def access(self) -> SqlAccessStore:
        """Principals, tokens, projects and grants: kept in the database itself, so only a
        SQL store has them (a server's are managed on its machine or through its API)."""
        with self._lock:
            if self.remote:
                from keel.errors import InvalidArgument

                raise InvalidArgument(
                    f"tracking URI {self.uri!r}: users, tokens and projects are managed "
                    "against the server's database (-t sqlite:///... or postgresql+psycopg://...)"
                )
            from keel.store.sql.access import SqlAccessStore

            return SqlAccessStore(self._engine, actor=self._local_user())

    @cached_property
    def quotas(self) -> SqlQuotas:
        """Each project's storage use and quota (a database's; a server enforces its own)."""
        if self.remote:
            raise AssertionError("quotas are a database's; a server enforces its own")
        from keel.store.sql.quotas import SqlQuotas

        return SqlQuotas(self._engine)

    @cached_property
    def access_api(self) -> RestAccess:
        """Users, tokens and projects through a ``keel server`` (its admin routes)."""
        from keel.store.rest.access import RestAccess

        if not self.remote:
            raise AssertionError("access_api is a server's; use access for a database")
        return RestAccess(self._http)

    @cached_property
    def caller_access(self) -> CallerAccess:
        """A ``keel server``'s answers about other callers' tokens (a model server's
        checks), through a session of its own that carries no token."""
        from keel.store.rest.access import CallerAccess

        if not self.remote:
            raise AssertionError("caller_access is a server's; use access for a database")
        return CallerAccess(self.target.uri, timeout=min(self._settings.http_timeout, 10.0))

    @cached_property
    def artifacts(self) -> ArtifactRepository:
        """Run artifacts: bytes under each run's artifact location and records in the
        tracking store, or both through the server."""
        if self.remote:
            from keel.store.rest.store import ProxiedArtifacts

            return ProxiedArtifacts(self._http)
        from keel.artifacts.repository import RunArtifacts

        self.tracking  # noqa: B018  (builds the SQL store once, under the lock)
        return RunArtifacts(self._sql_tracking)

    @cached_property
    def prediction_files(self) -> PredictionFiles:
        """The prediction log's files: under the artifact root, or through the server."""
        if self.remote:
            from keel.store.rest.prediction_files import RestPredictionFiles

            return RestPredictionFiles(self._http)
        from keel.artifacts.prediction_files import StoredPredictionFiles

        assert self.artifact_root is not None
        return StoredPredictionFiles.at(self.artifact_root)

    @cached_property
    def monitors(self) -> SqlMonitorStore:
        """Monitors, their results, alerts and events: a database's (a server runs its
        own monitors; clients reach them through its routes)."""
        if self.remote:
            raise AssertionError("monitors are a database's; a server's are behind its routes")
        from keel.store.sql.monitors import SqlMonitorStore

        return SqlMonitorStore(self._engine)

    @cached_property
    def monitors_api(self) -> RestMonitors:
        """Monitors through a ``keel server`` (it keeps and runs them)."""
        from keel.store.rest.monitors import RestMonitors

        if not self.remote:
            raise AssertionError("monitors_api is a server's; use monitors for a database")
        return RestMonitors(self._http)

    def quota_checked_artifacts(self) -> RunArtifacts:
        """Run artifacts whose uploads are cut off as they stream past their project's
        quota (a server's: its uploads may be large; every writer's record is charged)."""
        from keel.artifacts.repository import RunArtifacts

        self.tracking  # noqa: B018
        return RunArtifacts(self._sql_tracking, usage=self.quotas.usage_of_run)

    def close(self) -> None:
        """Close the engine or the HTTP session (every store built here shares it)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if "_engine" in self.__dict__:
            self._engine.dispose()
        if "_http" in self.__dict__:
            self._http.close()
        if "caller_access" in self.__dict__:
            self.caller_access.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Backend({self.uri!r})"


def open_backend(uri: str, settings: Settings, *, migrate: bool = True) -> Backend:
    """The stores a tracking URI names (a folder, ``sqlite:///...``,
    ``postgresql+psycopg://...`` or ``http(s)://host:port``). Nothing connects until a
    store is used; with ``migrate``, a SQL schema that is behind is upgraded then."""
    target = resolve_tracking_uri(uri, artifacts_uri=settings.artifacts_uri)
    return Backend(uri, target, settings, migrate=migrate)

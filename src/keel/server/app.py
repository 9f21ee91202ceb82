"""The FastAPI application: composes the routers; holds no logic of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from keel.access.authenticator import Authenticator
from keel.access.service import AccessService
from keel.artifacts.store import ArtifactStore
from keel.config import Settings
from keel.data.remote import StoreObjects
from keel.deployments.service import DeploymentService
from keel.errors import InvalidArgument
from keel.monitoring.backend_sources import server_references
from keel.monitoring.service import LocalMonitors, open_monitors
from keel.monitoring.service import now_ms as monitors_now
from keel.server.auth import authenticate, rate_limit
from keel.server.deps import bind_audit_actor
from keel.server.errors import install_error_handlers
from keel.server.hosts import HostCheck, allowed_hosts
from keel.server.limits import RequestLimits
from keel.server.openapi import ERROR_RESPONSES
from keel.server.request_id import RequestId
from keel.server.responses import JSON
from keel.server.routes import (
    access,
    artifacts,
    audit,
    datasets,
    deployments,
    experiments,
    model_versions,
    models,
    monitors,
    predict_access,
    predictions,
    promotions,
    runs,
)
from keel.store import open_backend
from keel.uri import StoreKind, resolve_tracking_uri
from keel.version import __version__
from keel.wire.routes import API

log = logging.getLogger("keel.server")

DOCS_ASSETS = "/docs/assets"
"""Where the Swagger UI and ReDoc files of /docs and /redoc are served from."""
REAP_EVERY_SECONDS = 60.0

ROUTERS = (
    experiments.router,
    runs.router,
    artifacts.router,
    models.router,
    model_versions.router,
    promotions.router,
    audit.router,
    datasets.router,
    deployments.router,
    access.router,
    monitors.router,
    predictions.router,
    predict_access.router,
)
"""Every router of the API, one per resource; none names ``/api/v1`` itself."""

API_DEPENDENCIES = (Depends(authenticate), Depends(bind_audit_actor))
"""What every API request runs before its route: who is calling (a bearer token, once
the store has users), bound for the audit records its writes make. Here, no route can be
mounted without it; each route then names its permission (``requires``)."""


def require_database(uri: str) -> str:
    """The server keeps its metadata in a database, never behind another server."""
    if resolve_tracking_uri(uri).kind is not StoreKind.SQL:
        raise InvalidArgument(
            f"backend store URI {uri!r}: the server needs a database (a folder, sqlite:///... "
            "or postgresql+psycopg://...), not another server"
        )
    return uri


def create_app(settings: Settings) -> FastAPI:
    """The app over the store ``settings.tracking_uri`` names (a SQL store)."""
    uri = require_database(settings.tracking_uri or str(settings.home))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = open_backend(uri, settings)
        store = await run_in_threadpool(lambda: backend.tracking)  # migrates if behind
        app.state.store = store
        # Uploads through the server are checked against their project's quota as
        # they stream (the record's transaction charges them, for every writer).
        app.state.quotas = backend.quotas
        app.state.artifacts = backend.quota_checked_artifacts()
        app.state.registry = backend.registry
        app.state.datasets = backend.datasets
        app.state.prediction_files = backend.prediction_files
        app.state.deployments = DeploymentService(backend.deployment_store, backend.registry)
        app.state.auth = Authenticator(backend.access, ttl=settings.auth_cache_seconds)
        app.state.rate_limit = rate_limit(settings.rate_limit)
        app.state.access = AccessService(backend.access, on_change=app.state.auth.invalidate)
        assert backend.artifact_root is not None  # a server's store is a database
        app.state.dataset_objects = StoreObjects(ArtifactStore(f"{backend.artifact_root}/datasets"))
        app.state.settings = settings
        monitors_ = await run_in_threadpool(
            lambda: open_monitors(
                backend, settings, actor="keel-server", file_root=server_references(settings)
            )
        )
        app.state.monitor_store = monitors_.store
        app.state.monitor_sources = monitors_.sources
        app.state.monitor_deployments = monitors_.deployments
        scheduler = asyncio.create_task(_run_monitors_forever(monitors_, settings))
        reaper = asyncio.create_task(_reap_forever(store, settings.run_timeout))
        sweeper = asyncio.create_task(_sweep_partial_writes(backend.artifact_root))
        try:
            yield
        finally:
            reaper.cancel()
            scheduler.cancel()
            sweeper.cancel()
            backend.close()

    # /docs and /redoc load Swagger UI and ReDoc from files this package installs, never
    # from a CDN: a server on a closed network documents itself too.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no call to validator.swagger.io
        title="Keel",
        version=__version__,
        description="Experiment tracking, artifacts and more. Errors have the shape "
        '`{"error": {"code": ..., "message": ...}}`.',
        lifespan=lifespan,
        default_response_class=JSON,
    )
    install_error_handlers(app)
    app.add_middleware(RequestLimits, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestId)
    # Added last, so it runs first: a request for a foreign Host is answered before anything.
    app.add_middleware(HostCheck, allowed_hosts=allowed_hosts(settings))
    app.include_router(api_router())

    @app.get("/health", tags=["health"])
    def health() -> JSON:
        return JSON({"status": "ok", "version": __version__})

    return app


def api_router() -> APIRouter:
    """Every router, each mounted once, under ``/api/v1`` and behind ``API_DEPENDENCIES``."""
    api = APIRouter(prefix=API, dependencies=list(API_DEPENDENCIES), responses=ERROR_RESPONSES)
    for router in ROUTERS:
        api.include_router(router)
    return api


async def _run_monitors_forever(monitors: LocalMonitors, settings: Settings) -> None:
    """Run the monitors whose time has come, one claim each across replicas; a failing
    monitor is logged and retried at its next tick, never stopping the others."""
    while True:
        await asyncio.sleep(settings.monitor_tick_seconds)
        for monitor in await run_in_threadpool(monitors.due, monitors_now()):
            try:
                await run_in_threadpool(monitors.run_claimed, monitor)
            except Exception:
                log.exception("monitor %s failed", monitor.name)


async def _reap_forever(store: Any, run_timeout: float) -> None:
    while True:
        await asyncio.sleep(REAP_EVERY_SECONDS)
        try:
            lost = await run_in_threadpool(store.reap_lost_runs, int(run_timeout * 1000))
            if lost:
                log.info("marked %d runs without heartbeat KILLED", len(lost))
        except Exception:
            log.exception("reaping lost runs failed")


async def _sweep_partial_writes(root: str) -> None:
    """Uploads cut short by a crash leave temporary files; remove the old ones once."""
    from keel.artifacts.store import ArtifactStore

    try:
        removed = await run_in_threadpool(ArtifactStore(root).sweep_partial_writes)
        if removed:
            log.info("removed %d unfinished uploads from %s", removed, root)
    except Exception:
        log.exception("sweeping unfinished uploads failed")


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: ``KEEL_TRACKING_URI`` names the backend store."""
    return create_app(Settings.from_env())

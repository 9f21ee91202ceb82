"""The model server's ASGI app.

>>> app = create_app("models:/fraud@champion")                     # doctest: +SKIP

:class:`ServingApp` sends the prediction routes (``POST /predict``, ``/invocations``,
``/v2/models/{name}[/versions/{v}]/infer``) straight to :class:`PredictHandler`, raw ASGI
and nothing between, and everything else (health, metadata, metrics, feedback, the
OpenAPI document at ``/docs``) to a FastAPI app, where the prediction routes are declared
too so that the document lists them.

The model is loaded when the app is made (a model that does not load, or whose files do
not match their digest, refuses to start). The app's lifespan starts the thread that
follows aliases and the deployment's revision; at shutdown (SIGTERM: uvicorn stops
accepting and lets open requests finish) it answers what is queued, flushes the
prediction log and closes the models.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from typing import TYPE_CHECKING, Any

from keel.config import Settings
from keel.serving.options import ServeOptions
from keel.serving.predict import PredictHandler, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

    from keel.serving.app_state import ServingState
    from keel.serving.batcher import BatchStats
    from keel.serving.served import ServedModel

log = logging.getLogger("keel.serving")
HOT = {"/predict": "predict", "/invocations": "invocations"}
DRAIN_SECONDS = 30.0
WARM_UP_AFTER = 0.5
"""Seconds after start-up before the routes other than predictions are built."""


class ServingApp:
    def __init__(self, state: ServingState) -> None:
        self.state = state
        self.predict = PredictHandler(state)
        self._api: FastAPI | None = None
        self._api_lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            route = HOT.get(path)
            if route is not None:
                await self.predict(scope, receive, send, route, None)
                return
            if path.startswith("/v2/models/") and path.endswith("/infer"):
                target = _v2_target(path)
                if target is not None:
                    await self.predict(scope, receive, send, "infer", target)
                    return
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.api(scope, receive, send)

    @property
    def api(self) -> FastAPI:
        """The FastAPI app of the other routes, built on first use or by the warm-up
        thread (FastAPI and pydantic take longer to import than the model to load: the
        first prediction does not wait for them)."""
        if self._api is None:
            with self._api_lock:
                if self._api is None:
                    self._api = _api(self)
        return self._api

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # What start-up made lives as long as the server: never scanned again
                # (a full collection over it would be a stall in the latencies).
                gc.freeze()
                gc.enable()
                self.state.host.start_polling()
                # A moment later: the first requests, often waiting at the door, go first.
                warm = threading.Timer(WARM_UP_AFTER, self._warm_up)
                warm.daemon = True
                warm.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.state.drain(DRAIN_SECONDS)
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _warm_up(self) -> None:
        """Import, once the port is open, what later requests and the log writer need:
        a first import in the middle of traffic would hold the GIL for a while."""
        self.api  # noqa: B018 (builds it)
        if self.state.host.logs.sink is not None:
            # pyarrow for the log's files, and the pandas it loads on its first table.
            import pandas  # noqa: F401
            import pyarrow  # noqa: F401

            import keel.predictions.tables  # noqa: F401
        # What start-up and these imports made lives as long as the server: out of the
        # collector's way (its full passes over them are stalls in the latencies).
        gc.freeze()

    def close(self) -> None:
        """Flush the prediction and feedback logs, close the models and the store."""
        self.state.host.close()
        if self.state.feedback is not None:
            self.state.feedback.close()


def _v2_target(path: str) -> tuple[str, int | None] | None:
    """``(name, version)`` of ``/v2/models/{name}[/versions/{v}]/infer``."""
    parts = path[len("/v2/models/") : -len("/infer")].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[0] and parts[1] == "versions":
        return parts[0], int(parts[2]) if parts[2].isdigit() else -1
    return None


def create_app(
    target: str | ServeOptions,
    *,
    settings: Settings | None = None,
    sink: Any = "default",
    **options: Any,
) -> ServingApp:
    """The model server for ``target`` (``models:/name@alias``, ``models:/name/3``,
    ``deployments:/name`` or a model package folder), its model loaded. ``options`` are
    :class:`ServeOptions`' fields (``batch_max_size=``, ``request_timeout=``, ...).
    ``sink``: where predictions are logged; by default the prediction log of the
    tracking URI, ``None`` for none."""
    from keel.serving.app_state import ServingState
    from keel.serving.auth import predict_auth
    from keel.serving.host import ModelHost
    from keel.serving.metrics import ServingMetrics
    from keel.serving.prediction_log import open_feedback, open_sink

    opts = target if isinstance(target, ServeOptions) else ServeOptions(target, **options)
    settings = settings or Settings.from_env()
    factory = open_sink if sink == "default" else (lambda backend, settings: sink)
    host = ModelHost(opts, settings, sink_factory=factory)
    metrics = ServingMetrics()

    def on_batch(model: ServedModel, stats: BatchStats) -> None:
        metrics.observe_batch(
            model.name, str(model.version), stats.rows, stats.requests, stats.seconds
        )

    def on_load(model: ServedModel) -> None:
        metrics.watch_queue(model.name, str(model.version), lambda: model.batcher.queued_rows)

    host.on_batch, host.on_load = on_batch, on_load
    host.start()
    log_sink = host.logs.sink
    if log_sink is not None and hasattr(log_sink, "dropped_rows"):  # the log counts drops
        metrics.watch_log_drops(lambda: int(log_sink.dropped_rows))
    state = ServingState(
        opts, settings, host, metrics, predict_auth(host, settings),
        feedback=open_feedback(host.backend, settings) if sink == "default" else None,
    )  # fmt: skip
    return ServingApp(state)


def _api(app: ServingApp) -> FastAPI:
    from fastapi import FastAPI, Request

    from keel.errors import KeelError
    from keel.serving import routes

    api = FastAPI(
        title="Keel model server",
        version=_version(),
        description="Predictions from a Keel model or deployment: Keel's JSON, Arrow and "
        "CSV (/predict), MLflow's scoring protocol (/invocations) and the Open Inference "
        "Protocol (/v2).",
    )
    api.state.serving = app.state
    api.state.serving_app = app

    @api.exception_handler(KeelError)
    async def keel_error(request: Request, exc: KeelError) -> Any:
        return routes.error_response(exc)

    api.include_router(routes.router)
    _declare_prediction_routes(api)
    return api


def _declare_prediction_routes(api: FastAPI) -> None:
    """The prediction routes in the OpenAPI document; requests to them never reach these
    (:class:`ServingApp` answers them first), but a mounted app that calls them works."""
    from fastapi import Request, Response

    body = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}
    extra = {"x-keel-permission": "deployment:predict", **body}

    def route(name: str) -> Any:
        async def handler(request):  # type: ignore[no-untyped-def]
            app: ServingApp = request.app.state.serving_app
            target = _v2_target(request.scope["path"]) if name == "infer" else None
            return _raw(app, name, target)  # it reads the body itself

        # Real classes, not the strings of postponed annotations: FastAPI resolves these.
        handler.__annotations__ = {"request": Request, "return": Response}
        return handler

    for path, name, summary in (
        ("/predict", "predict", "Predict: Keel's JSON (records, columns, inputs), Arrow or CSV"),
        ("/invocations", "invocations", "Predict: MLflow's scoring protocol"),
        ("/v2/models/{name}/infer", "infer", "Predict: the Open Inference Protocol"),
        ("/v2/models/{name}/versions/{version}/infer", "infer",
         "Predict with one version: the Open Inference Protocol"),
    ):  # fmt: skip
        api.add_api_route(
            path, route(name), methods=["POST"], summary=summary, openapi_extra=extra,
            response_model=None,
        )  # fmt: skip


def _raw(app: ServingApp, route: str, target: Any) -> Any:
    """A response that answers through the prediction handler."""
    from starlette.responses import Response

    class Raw(Response):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await app.predict(scope, receive, send, route, target)

    return Raw()


def _version() -> str:
    from keel.version import __version__

    return __version__


def app_from_env() -> ServingApp:
    """The app uvicorn's worker processes build (``KEEL_SERVE_OPTIONS``)."""
    settings = Settings.from_env()
    if not settings.serve_options:
        raise RuntimeError("KEEL_SERVE_OPTIONS is not set: start the server with keel serve")
    return create_app(ServeOptions.from_json(settings.serve_options), settings=settings)

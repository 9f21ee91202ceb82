"""``keel serve``: build the model server and run it under uvicorn until SIGTERM.

With one worker the app is built here, before the port opens, so a model that does not
load stops the command with its reason. With several, each uvicorn worker process builds
its own from ``KEEL_SERVE_OPTIONS``.

SIGTERM (or Ctrl-C): uvicorn stops accepting connections and lets open requests finish,
then the app answers what is still queued, flushes the prediction log and exits; after
SIGTERM with status 0 (a drained stop is a clean one, as orchestrators read it).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from typing import Any

from keel.access.exposure import refuse_open_exposure
from keel.config import Settings
from keel.serving.options import ServeOptions

log = logging.getLogger("keel.serving")
GRACEFUL_SECONDS = 30
SWITCH_INTERVAL = 0.0005


def serve(target: str, *, settings: Settings | None = None, **options: Any) -> None:
    """Serve ``target`` over HTTP (blocks until SIGTERM or Ctrl-C): ``host``, ``port``,
    ``workers``, ``batch_max_size``, ``batch_max_latency_ms``, ``request_timeout``,
    ``sampling``, ``poll_interval``, ``insecure_no_auth``, ... as :class:`ServeOptions`.

    >>> keel.serving.serve("models:/fraud@champion", port=8080)       # doctest: +SKIP
    """
    # Start-up imports modules and loads the model: many thousands of long-lived objects
    # the garbage collector would pass over again and again (a fifth of the start-up's
    # CPU). It is paused until the app starts, which freezes what is there by then.
    gc.disable()
    try:
        _serve(target, settings, options)
    finally:
        gc.enable()


def _serve(target: str, settings: Settings | None, options: dict[str, Any]) -> None:
    import uvicorn

    opts = ServeOptions(target, **options)
    settings = settings or Settings.from_env()
    # The event loop and the predict threads hand the GIL back and forth many times a
    # request: Python's default 5 ms switch interval would be added to latencies.
    sys.setswitchinterval(SWITCH_INTERVAL)
    common: dict[str, Any] = dict(
        host=opts.host, port=opts.port, log_level=opts.log_level, access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS, lifespan="on",
    )  # fmt: skip
    if opts.workers == 1:
        from keel.serving.app import create_app

        app = create_app(opts, settings=settings)
        auth = app.state.auth
        has_users = auth.checks and auth.refresh_enabled()
        refuse_open_exposure(opts.host, has_users=has_users, insecure_no_auth=opts.insecure_no_auth)
        _run_to_a_clean_exit(uvicorn.Server(uvicorn.Config(app, **common)))
    else:
        refuse_open_exposure(
            opts.host, has_users=_store_has_users(opts, settings),
            insecure_no_auth=opts.insecure_no_auth,
        )  # fmt: skip
        # The workers read these through Settings.from_env(), the one place env is read.
        os.environ["KEEL_SERVE_OPTIONS"] = opts.to_json()
        if settings.tracking_uri:
            os.environ["KEEL_TRACKING_URI"] = settings.tracking_uri
        gc.enable()  # this process only watches the workers, which start their own
        uvicorn.run("keel.serving.app:app_from_env", factory=True, workers=opts.workers, **common)
    _exit_past_hung_models()


def _run_to_a_clean_exit(server: Any) -> None:
    """Run the uvicorn ``server`` until SIGTERM and its drain. uvicorn raises the SIGTERM
    it handled again once it is done, and under Python's default handler that ends the
    process as killed by it (-15) though every request was answered: while it runs, the
    handler it restores and raises into only notes the signal, so the command returns."""
    if threading.current_thread() is not threading.main_thread():
        server.run()  # uvicorn catches no signals there either
        return
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _drained(signum: int, frame: object) -> None:
    log.debug("keel serve: stopped by SIGTERM, drained")


def _store_has_users(opts: ServeOptions, settings: Settings) -> bool:
    from keel.serving.host import ServeTarget

    if ServeTarget.parse(opts.target).kind == "folder" and not settings.tracking_uri:
        return False
    from keel.store import open_backend

    with open_backend(settings.tracking_uri or str(settings.home), settings, migrate=False) as b:
        if not b.remote:
            return b.access.has_principals()
        from keel.serving.auth import server_has_users

        return server_has_users(b.caller_access)


def _exit_past_hung_models() -> None:
    """A model that hangs keeps its worker thread, and Python waits for such threads at
    exit: leave without them (the log was flushed at shutdown)."""
    hung = [t for t in threading.enumerate() if t.name.startswith("keel-predict-") and t.is_alive()]
    if hung:
        logging.shutdown()
        os._exit(0)

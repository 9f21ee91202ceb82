"""``keel serve TARGET``"""

from __future__ import annotations

import typer

from keel.cli.output import TrackingUri
from keel.serving.options import DEFAULT_PORT


def serve(
    target: str = typer.Argument(
        ...,
        help="What to serve: models:/NAME@ALIAS, models:/NAME/VERSION, deployments:/NAME, "
        "or a model package folder.",
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes, each with its own copy."),
    batch_max_size: int = typer.Option(
        64, min=1, help="Rows in one predict call at most; a larger request runs alone."
    ),
    batch_max_latency_ms: float = typer.Option(
        1000.0,
        help="A request's budget in the batcher; one that would miss it is refused with 503.",
    ),
    request_timeout: float = typer.Option(
        None, help="Seconds before a request gets 504 (default KEEL_SERVE_REQUEST_TIMEOUT, 30)."
    ),
    sampling: float = typer.Option(
        None,
        help="Share of predictions written to the prediction log, 0 to 1 "
        "(default: the deployment's, else 1).",
    ),
    poll_interval: float = typer.Option(
        5.0, help="Seconds between looks at the aliases and the deployment's revision."
    ),
    max_queue_rows: int = typer.Option(
        10_000, min=1, help="Rows waiting per model version at most; over it, 503."
    ),
    max_body_bytes: int = typer.Option(
        32 * 1024**2, min=1, help="The largest request body in bytes; over it, 413."
    ),
    log_level: str = typer.Option("info", help="Server log level."),
    tracking_uri: str = TrackingUri,
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Serve on a non-loopback address although the store has no users "
        "(anyone who reaches it can predict).",
    ),
) -> None:
    """Serve a model or a deployment over HTTP: POST /predict (Keel's JSON, Arrow, CSV),
    /invocations (MLflow), /v2/models/NAME/infer (Open Inference Protocol); /metrics,
    /metadata, /docs. Once the store has a user, predictions need an API token."""
    from keel.config import Settings
    from keel.serving.run import serve as run

    run(
        target,
        settings=Settings.from_env().with_tracking_uri(tracking_uri) if tracking_uri else None,
        host=host,
        port=port,
        workers=workers,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        request_timeout=request_timeout,
        sampling=sampling,
        poll_interval=poll_interval,
        max_queue_rows=max_queue_rows,
        max_body_bytes=max_body_bytes,
        log_level=log_level,
        insecure_no_auth=insecure_no_auth,
    )

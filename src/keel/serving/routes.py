"""The model server's routes other than the prediction hot path: health (MLflow's and
the Open Inference Protocol's), model metadata, Prometheus metrics and feedback.

Each route is declared on the FastAPI app, so the OpenAPI document (``/docs``) lists
them all, the prediction routes too (their bodies are the protocols'). A route that needs
a token says so with ``openapi_extra={"x-keel-permission": ...}``; the others are open,
as health checks and scrapers must reach them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from keel.errors import InvalidArgument, KeelError, NotFound
from keel.version import __version__

if TYPE_CHECKING:
    from keel.serving.app_state import ServingState
    from keel.serving.served import ServedModel

OPEN = {"x-keel-permission": "none"}
PREDICT = {"x-keel-permission": "deployment:predict"}
MAX_FEEDBACK_BYTES = 8 * 1024**2

router = APIRouter()


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


def error_response(exc: KeelError) -> JSONResponse:
    from keel.serving.protocol_codecs import keel_error_body

    return JSONResponse(keel_error_body(exc), status_code=exc.status_code)


# health ------------------------------------------------------------------------------------


@router.get("/ping", openapi_extra=OPEN, response_class=PlainTextResponse)
async def ping() -> PlainTextResponse:
    """MLflow's and SageMaker's health check: 200 once the model is loaded."""
    return PlainTextResponse("\n")


@router.get("/health", openapi_extra=OPEN)
async def health(request: Request) -> dict[str, Any]:
    state = _state(request)
    return {
        "status": "draining" if state.draining else "ok",
        "models": [_ref(m) for m in state.host.routing.models()],
    }


@router.get("/version", openapi_extra=OPEN, response_class=PlainTextResponse)
async def version() -> PlainTextResponse:
    """The server's version (MLflow answers its own the same way)."""
    return PlainTextResponse(__version__)


@router.get("/v2/health/live", openapi_extra=OPEN)
async def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/v2/health/ready", openapi_extra=OPEN)
async def ready(request: Request) -> Response:
    state = _state(request)
    ok = not state.draining
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


# model metadata ----------------------------------------------------------------------------


@router.get("/metadata", openapi_extra=OPEN)
async def metadata(request: Request) -> dict[str, Any]:
    """What this server serves: the deployment, each version with its signature and
    input example, and the runtime's batching settings."""
    state = _state(request)
    routing = state.host.routing
    weights = {id(model): bound for bound, model in routing.live}
    models = []
    previous = 0
    for model in routing.models():
        share = weights.get(id(model))
        entry = {**_ref(model), "flavor": model.loaded.flavor,
                 "signature": _signature(model), "input_example": _example(model)}  # fmt: skip
        if share is not None:
            entry["weight"], previous = share - previous, share
        entry["shadow"] = model in routing.shadows
        models.append(entry)
    return {
        "keel_version": __version__,
        "target": state.options.target,
        "deployment": routing.deployment,
        "revision": routing.revision,
        "sticky_key": routing.policy.sticky_key,
        "models": models,
        "batching": {
            "max_size": state.options.batch_max_size,
            "max_latency_ms": state.options.batch_max_latency_ms,
        },
    }


def _v2_metadata(state: ServingState, name: str, version: int | None) -> Response:
    model = _find(state, name, version)
    from keel.serving.protocols import v2

    versions = [m.version for m in state.host.routing.models() if m.name == model.name]
    return JSONResponse(
        v2.metadata(
            model.name,
            versions=versions if version is None else [model.version],
            platform=f"keel-{model.loaded.flavor}",
            signature=model.loaded.signature,
            has_scores=model.labels is not None,
        )
    )


@router.get("/v2/models/{name}", openapi_extra=OPEN)
async def v2_model(request: Request, name: str) -> Response:
    """The Open Inference Protocol's model metadata: inputs and outputs with their types."""
    return _v2_metadata(_state(request), name, None)


@router.get("/v2/models/{name}/versions/{version}", openapi_extra=OPEN)
async def v2_model_version(request: Request, name: str, version: str) -> Response:
    return _v2_metadata(_state(request), name, _version(version))


@router.get("/v2/models/{name}/ready", openapi_extra=OPEN)
async def v2_model_ready(request: Request, name: str) -> Response:
    model = _find(_state(request), name, None)
    return JSONResponse({"name": model.name, "ready": True})


@router.get("/v2/models/{name}/versions/{version}/ready", openapi_extra=OPEN)
async def v2_model_version_ready(request: Request, name: str, version: str) -> Response:
    model = _find(_state(request), name, _version(version))
    return JSONResponse({"name": model.name, "version": str(model.version), "ready": True})


def _version(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound(f"model version {raw!r}: not a version number")
    return int(raw)


def _find(state: ServingState, name: str, version: int | None) -> ServedModel:
    found = state.host.routing.find(name, version)
    if found is None:
        wanted = name if version is None else f"{name} version {version}"
        raise NotFound(f"model {wanted}: not served here")
    return found


def _ref(model: ServedModel) -> dict[str, Any]:
    return {"name": model.name, "version": model.version}


def _signature(model: ServedModel) -> Any:
    signature = model.loaded.signature
    return None if signature is None else signature.to_dict()


def _example(model: ServedModel) -> Any:
    try:
        example = model.loaded.input_example()
    except Exception:  # an example that does not read is not worth failing metadata for
        return None
    if example is None:
        return None
    from keel.serving.protocols.outputs import jsonable

    to_dict = getattr(example, "to_dict", None)
    if callable(to_dict):
        return {"records": _lists(jsonable(to_dict(orient="records")))}
    return {"inputs": _lists(jsonable(example))}


def _lists(value: Any) -> Any:
    """Arrays as lists: this answer goes through FastAPI's encoder, which writes no numpy
    (the prediction routes write numpy arrays with orjson directly)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lists(item) for item in value]
    return value


# metrics and feedback ----------------------------------------------------------------------


@router.get("/metrics", openapi_extra=OPEN, response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    """Prometheus' text format: requests, latency, batch sizes, errors, queue depth and
    prediction-log drops, by model version."""
    content, media = _state(request).metrics.render()
    return Response(content, media_type=media)


@router.post("/feedback", openapi_extra=PREDICT, status_code=202)
async def feedback(request: Request) -> Response:
    """Labels for predictions made earlier: ``{"prediction_ids": [...], "labels": [...]}``
    or ``{"labels": [{"prediction_id": ..., "label": ...}, ...]}``; 202 with how many
    were queued for the feedback log."""
    import orjson

    from keel.serving.predict import read_body

    state = _state(request)
    await state.check_access(request.headers.get("authorization"))
    if state.feedback is None:
        raise NotFound("feedback: this server keeps no prediction log (no tracking URI)")
    raw = await read_body(request.receive, MAX_FEEDBACK_BYTES, None)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"body: not JSON ({exc})") from None
    ids, labels = _feedback_lists(body)
    count = state.feedback.log_feedback(state.host.routing.deployment, ids, labels)
    return JSONResponse({"accepted": count}, status_code=202)


def _feedback_lists(body: object) -> tuple[list[Any], list[Any]]:
    if not isinstance(body, dict):
        raise InvalidArgument("body: expected a JSON object with prediction_ids and labels")
    if "prediction_ids" in body:
        ids, labels = body.get("prediction_ids"), body.get("labels")
        if not isinstance(ids, list) or not isinstance(labels, list):
            raise InvalidArgument("prediction_ids, labels: must be lists, one label per id")
        return ids, labels
    items = body.get("labels")
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and set(item) == {"prediction_id", "label"} for item in items
    ):
        raise InvalidArgument(
            'body: expected {"prediction_ids": [...], "labels": [...]} or '
            '{"labels": [{"prediction_id": ..., "label": ...}, ...]}'
        )
    return [item["prediction_id"] for item in items], [item["label"] for item in items]

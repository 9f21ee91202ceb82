"""The hot path: one prediction request, from raw ASGI to the answer bytes.

Requests to ``/predict``, ``/invocations`` and the V2 ``infer`` routes come here straight
from the app's dispatcher, past FastAPI's routing and validation (the body is the
protocol's to read): read the body up to the size limit, check the token when the store
has users, pick the version by the traffic policy, decode the body into a checked
``Table`` with the protocol's decoder, give every row a prediction id, wait for the
batch, encode the answer. Shadow versions get a copy whose answer is logged, not sent.

Every answer of up to :data:`MAX_HEADER_IDS` rows carries its prediction ids in the
``X-Keel-Prediction-Ids`` header, comma-separated in row order, whatever the protocol: an
MLflow caller, whose body must stay MLflow's, can send feedback with them too.

Every failure is an answer with a status and a short JSON body (Keel's
``{"error": {"code", "message"}}``; MLflow's ``{"error_code", "message"}`` on
``/invocations``; ``{"error": "..."}`` on V2 routes), never a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keel.errors import KeelError, NotFound, PayloadTooLarge
from keel.predictions.ids import new_prediction_ids
from keel.serving.protocol_codecs import CODECS, Codec
from keel.serving.served import Job, ServedModel

if TYPE_CHECKING:
    from keel.serving.app_state import ServingState
    from keel.serving.routing import Routing

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

log = logging.getLogger("keel.serving")
IDS_HEADER = b"x-keel-prediction-ids"
MAX_HEADER_IDS = 100
"""Answers of more rows leave the header out: 100 ids are 3,299 bytes, under the 4 KiB a
proxy such as ingress-nginx reads response headers into by default (past it, it answers
502). ``/predict`` and the V2 route carry the ids in their bodies as well."""
_ERROR_KINDS = {
    400: "bad_request", 401: "unauthorized", 403: "unauthorized", 404: "not_found",
    413: "too_large", 415: "bad_request", 422: "unprocessable", 500: "model_error",
    503: "overloaded", 504: "timeout",
}  # fmt: skip


@dataclass(slots=True)
class _Head:
    content_type: str | None = None
    accept: str | None = None
    authorization: str | None = None
    content_length: int | None = None
    sticky: str | None = None


def _read_head(scope: Scope, sticky_header: bytes | None) -> _Head:
    head = _Head()
    for name, value in scope["headers"]:
        if name == b"content-type":
            head.content_type = value.decode("latin-1")
        elif name == b"accept":
            head.accept = value.decode("latin-1")
        elif name == b"authorization":
            head.authorization = value.decode("latin-1")
        elif name == b"content-length":
            try:
                head.content_length = int(value)
            except ValueError:
                head.content_length = None
        elif sticky_header is not None and name == sticky_header:
            head.sticky = value.decode("latin-1")
    return head


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    """The whole body, or ``PayloadTooLarge`` as soon as it passes ``limit`` bytes."""
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"body: {declared} bytes, more than the {limit} this server takes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client left")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body: more than the {limit} bytes this server takes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class PredictHandler:
    def __init__(self, state: ServingState) -> None:
        self.state = state
        self.timeout = state.request_timeout
        self.limit = state.options.max_body_bytes

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: str,
        target: tuple[str, int | None] | None,
    ) -> None:
        """``route``: ``predict``, ``invocations`` or ``infer``; ``target``: the model
        (and version) a V2 path names."""
        started = time.perf_counter()
        state = self.state
        codec = CODECS[route]
        routing = state.host.routing
        sticky = routing.sticky_header
        head = _read_head(scope, sticky.encode() if sticky else None)
        served: ServedModel | None = None
        ids: list[str] | None = None
        try:
            await state.check_access(head.authorization)
            body = await read_body(receive, self.limit, head.content_length)
            served = routing.pick(head.sticky)
            if target is not None and (served.name, target[1]) != (target[0], None):
                # A V2 path names the model: by the policy's draw when it names the one
                # drawn, else the version it names.
                found = routing.find(*target)
                if found is None:
                    raise NotFound(_unknown_model(target, routing.models()))
                served = found
            served.in_flight += 1
            try:
                status, content, media, ids = await self._predict(
                    served, routing, codec, body, head
                )
            finally:
                served.in_flight -= 1
        except ConnectionError:
            return
        except KeelError as exc:
            status, content, media = codec.error(exc)
            if status >= 500 and status not in (503, 504):
                log.warning("keel serve: %s", exc.message)
        except Exception as exc:  # a bug of ours: an error id, the traceback in the log only
            from keel.entities.ids import new_id

            error_id = new_id()[:16]
            log.error("keel serve: unexpected error (error id %s)", error_id, exc_info=exc)
            status, content, media = codec.error(
                _Internal(f"unexpected error; error id {error_id} (see the server's log)")
            )
        headers = [
            (b"content-type", media.encode("latin-1")),
            (b"content-length", str(len(content)).encode("latin-1")),
        ]
        if ids is not None and len(ids) <= MAX_HEADER_IDS:
            headers.append((IDS_HEADER, ",".join(ids).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        name, version = (served.name, str(served.version)) if served else ("", "")
        metrics = state.metrics
        metrics.observe_request(name, version, route, status, time.perf_counter() - started)
        if status != 200:
            metrics.error(name, version, _ERROR_KINDS.get(status, "error"))

    async def _predict(
        self, served: ServedModel, routing: Routing, codec: Codec, body: bytes, head: _Head
    ) -> tuple[int, bytes, str, list[str]]:
        table, echo = codec.decode(body, head.content_type, served)
        arrived_ms = time.time_ns() // 1_000_000
        ids = new_prediction_ids(table.rows, now_ms=arrived_ms)
        job = Job(table, ids, arrived_ms, time.monotonic())
        for shadow in routing.shadows:
            if shadow is not served:
                self.state.spawn(
                    self._shadow(shadow, Job(table, ids, arrived_ms, job.started, True))
                )
        answer = await served.batcher.submit(job, table.rows, self.timeout)
        content, media = codec.encode(served, answer, ids, head.accept, echo)
        return 200, content, media, ids

    async def _shadow(self, shadow: ServedModel, job: Job) -> None:
        """Answer ``job`` on a shadow version: logged by its batch, never returned; a
        failure there is counted, never felt by the caller."""
        shadow.in_flight += 1
        try:
            await shadow.batcher.submit(job, job.table.rows, self.timeout)
        except Exception as exc:
            status = exc.status_code if isinstance(exc, KeelError) else 500
            self.state.metrics.error(
                shadow.name, str(shadow.version), f"shadow_{_ERROR_KINDS.get(status, 'error')}"
            )
        finally:
            shadow.in_flight -= 1


class _Internal(KeelError):
    status_code = 500
    code = "internal_error"


def _unknown_model(target: tuple[str, int | None], models: list[ServedModel]) -> str:
    name, version = target
    served = ", ".join(f"{m.name} version {m.version}" for m in models)
    wanted = name if version is None else f"{name} version {version}"
    return f"model {wanted}: not served here; this server serves {served}"

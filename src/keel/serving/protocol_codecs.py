"""Each prediction route's protocol, seen from the runtime: decode a body into a checked
``Table``, encode an answer, shape an error. The decoders and encoders themselves live in
:mod:`keel.serving.protocols` (one module per protocol); this module only calls them with
what the runtime knows (the version that answered, its ids)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from keel.errors import KeelError

if TYPE_CHECKING:
    from keel.serving.served import Answer, ServedModel
    from keel.serving.table import Table

JSON = "application/json"


def keel_error_body(exc: KeelError) -> dict[str, Any]:
    from keel.serving.errors import error_body

    body = error_body(exc)
    error_id = getattr(exc, "error_id", None)
    if error_id is not None:
        body["error"]["error_id"] = error_id
    return body


@dataclass(frozen=True, slots=True)
class Codec:
    name: str

    def decode(self, body: bytes, content_type: str | None, schema: Any, target: Any) -> Table:
        raise NotImplementedError

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, target: Any
    ) -> tuple[bytes, str]:
        raise NotImplementedError

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        return exc.status_code, orjson.dumps(keel_error_body(exc)), JSON


class KeelCodec(Codec):
    """``POST /predict``: Keel's JSON, Arrow IPC and CSV."""

    def decode(self, body: bytes, content_type: str | None, schema: Any, target: Any) -> Table:
        from keel.serving.protocols import keel

        return keel.decode(body, content_type, schema)

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, target: Any
    ) -> tuple[bytes, str]:
        from keel.serving.protocols import keel

        return keel.encode(
            answer.predictions,
            ids=ids,
            model_name=served.name,
            model_version=served.version,
            scores=answer.scores,
            classes=answer.score_labels,
            accept=accept,
        )


class MlflowCodec(Codec):
    """``POST /invocations``: MLflow's scoring protocol; errors as MLflow answers them."""

    def decode(self, body: bytes, content_type: str | None, schema: Any, target: Any) -> Table:
        from keel.serving.protocols import mlflow

        return mlflow.decode(body, content_type, schema)

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, target: Any
    ) -> tuple[bytes, str]:
        from keel.serving.protocols import mlflow

        return mlflow.encode(answer.predictions), JSON

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        body: dict[str, Any] = {"error_code": _MLFLOW_CODES.get(exc.status_code, "INTERNAL_ERROR"),
                                "message": exc.message}  # fmt: skip
        error_id = getattr(exc, "error_id", None)
        if error_id is not None:
            body["error_id"] = error_id
        return exc.status_code, orjson.dumps(body), JSON


_MLFLOW_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST", 413: "BAD_REQUEST", 415: "BAD_REQUEST",
    422: "BAD_REQUEST", 503: "TEMPORARILY_UNAVAILABLE", 504: "TEMPORARILY_UNAVAILABLE",
}  # fmt: skip


class V2Codec(Codec):
    """The Open Inference Protocol's ``infer``; errors as ``{"error": "<message>"}``."""

    def decode(self, body: bytes, content_type: str | None, schema: Any, target: Any) -> Table:
        from keel.serving.protocols import v2

        return v2.decode(body, schema)

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, target: Any
    ) -> tuple[bytes, str]:
        from keel.serving.protocols import v2

        return v2.encode(
            answer.predictions,
            ids=ids,
            model_name=served.name,
            model_version=served.version,
            scores=answer.scores,
            classes=answer.score_labels,
        ), JSON

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        body: dict[str, Any] = {"error": exc.message}
        error_id = getattr(exc, "error_id", None)
        if error_id is not None:
            body["error_id"] = error_id
        return exc.status_code, orjson.dumps(body), JSON


CODECS: dict[str, Codec] = {
    "predict": KeelCodec("predict"),
    "invocations": MlflowCodec("invocations"),
    "infer": V2Codec("infer"),
}

"""Each prediction route's protocol, seen from the runtime: decode a body into a checked
``Table`` (plus what the protocol must echo back), encode an answer, shape an error. The
decoders and encoders themselves live in :mod:`keel.serving.protocols` (one module per
protocol); this module only calls them with what the runtime knows (the version that
answered, the prediction ids)."""

from __future__ import annotations

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


class Codec:
    def decode(
        self, body: bytes, content_type: str | None, served: ServedModel
    ) -> tuple[Table, Any]:
        """The checked table, and what the answer must carry back (a V2 request's id)."""
        raise NotImplementedError

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, echo: Any
    ) -> tuple[bytes, str]:
        raise NotImplementedError

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        return exc.status_code, orjson.dumps(keel_error_body(exc)), JSON


class KeelCodec(Codec):
    """``POST /predict``: Keel's JSON, Arrow IPC and CSV."""

    def decode(
        self, body: bytes, content_type: str | None, served: ServedModel
    ) -> tuple[Table, Any]:
        from keel.serving.protocols import keel

        return keel.decode(body, content_type, served.schema), None

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, echo: Any
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
    """``POST /invocations``: MLflow's scoring protocol, errors as MLflow answers them."""

    def decode(
        self, body: bytes, content_type: str | None, served: ServedModel
    ) -> tuple[Table, Any]:
        from keel.serving.protocols import mlflow

        return mlflow.decode(body, content_type, served.schema), None

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, echo: Any
    ) -> tuple[bytes, str]:
        from keel.serving.protocols import mlflow

        return mlflow.encode(answer.predictions), JSON

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        from keel.serving.protocols import mlflow

        return mlflow.error_answer(exc)


class V2Codec(Codec):
    """The Open Inference Protocol's ``infer``; the prediction ids go in the answer's
    ``parameters`` (``prediction_ids``)."""

    def decode(
        self, body: bytes, content_type: str | None, served: ServedModel
    ) -> tuple[Table, Any]:
        from keel.serving.protocols import v2

        request = v2.decode(body, served.schema, has_scores=served.labels is not None)
        return request.table, request

    def encode(
        self, served: ServedModel, answer: Answer, ids: Any, accept: str | None, echo: Any
    ) -> tuple[bytes, str]:
        from keel.serving.protocols import v2

        return v2.encode(
            answer.predictions,
            model_name=served.name,
            model_version=served.version,
            request_id=echo.id,
            scores=answer.scores,
            classes=answer.score_labels,
            outputs=echo.outputs,
            parameters={"prediction_ids": list(ids)},
        ), JSON

    def error(self, exc: KeelError) -> tuple[int, bytes, str]:
        from keel.serving.protocols import v2

        status, content = v2.error_answer(exc)
        return status, content, JSON


CODECS: dict[str, Codec] = {
    "predict": KeelCodec(),
    "invocations": MlflowCodec(),
    "infer": V2Codec(),
}

"""What ``keel serve`` is told: the target and the knobs of the runtime, in one frozen
object that travels to uvicorn's worker processes as JSON (``KEEL_SERVE_OPTIONS``).

>>> ServeOptions("models:/fraud@champion", batch_max_size=32).batch_max_size
32
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from keel.errors import InvalidArgument

DEFAULT_PORT = 8080


@dataclass(frozen=True, slots=True)
class ServeOptions:
    target: str
    """``models:/name@alias``, ``models:/name/3``, ``deployments:/name`` or a model
    package folder."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    batch_max_size: int = 64
    """Rows in one ``predict`` call at most; a request holding more runs alone."""
    batch_max_latency_ms: float = 1000.0
    """A request's budget in the batcher (waiting plus its batch's ``predict``): one that
    the learned cost model says would miss it is shed with 503 instead of queueing."""
    batch_wait_ms: float = 0.0
    """How long a batch waits for more requests once the model is free (0: it goes at
    once; concurrent requests still gather while the previous batch runs)."""
    max_queue_rows: int = 10_000
    """Rows waiting per model version at most; over it, 503."""
    request_timeout: float | None = None
    """Seconds before a request gets 504 (default: ``KEEL_SERVE_REQUEST_TIMEOUT``, 30)."""
    sampling: float | None = None
    """Share of predictions logged (default: the deployment's, else 1)."""
    poll_interval: float = 5.0
    """Seconds between looks at the aliases and the deployment's revision."""
    max_body_bytes: int = 32 * 1024**2
    """The largest request body; over it, 413."""
    insecure_no_auth: bool = False
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target.strip():
            raise InvalidArgument(
                "target: name a model (models:/name@alias), a deployment "
                "(deployments:/name) or a model package folder"
            )
        for name in ("port", "workers", "batch_max_size", "max_queue_rows", "max_body_bytes"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (0 if name == "port" else 1)
            ):
                raise InvalidArgument(
                    f"{name}: must be a whole number of at least 1, got {value!r}"
                )
        for name in ("batch_max_latency_ms", "poll_interval"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise InvalidArgument(f"{name}: must be a number greater than 0, got {value!r}")
        if not isinstance(self.batch_wait_ms, int | float) or self.batch_wait_ms < 0:
            raise InvalidArgument(f"batch_wait_ms: must be 0 or more, got {self.batch_wait_ms!r}")
        if self.request_timeout is not None and not (
            isinstance(self.request_timeout, int | float) and self.request_timeout > 0
        ):
            raise InvalidArgument(
                f"request_timeout: must be seconds greater than 0, got {self.request_timeout!r}"
            )
        if self.sampling is not None and not (
            isinstance(self.sampling, int | float) and 0.0 <= self.sampling <= 1.0
        ):
            raise InvalidArgument(f"sampling: must be between 0 and 1, got {self.sampling!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        raw: Any = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

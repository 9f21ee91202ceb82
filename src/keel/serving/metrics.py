"""The model server's Prometheus metrics, in a registry of the app's own (two apps in one
process, as in tests, never share counts).

Every series carries the model and version that answered: requests by route and status,
latency, batch sizes and times, errors by kind, rows queued, and predictions the log
dropped (its queue full).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "keel_serving_requests", "Requests answered, by route and status.",
            ["model", "version", "route", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "keel_serving_request_seconds", "Time from a request's arrival to its answer.",
            ["model", "version", "route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "keel_serving_batch_rows", "Rows in each predict call.",
            ["model", "version"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_requests = Histogram(
            "keel_serving_batch_requests", "Requests answered by each predict call.",
            ["model", "version"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "keel_serving_batch_seconds", "Time of each predict call.",
            ["model", "version"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "keel_serving_errors", "Requests that failed, by kind (model_error, timeout, "
            "overloaded, bad_request, unprocessable, not_found, too_large, unauthorized).",
            ["model", "version", "kind"], registry=r,
        )  # fmt: skip
        self.queue_rows = Gauge(
            "keel_serving_queue_rows", "Rows waiting for a batch.", ["model", "version"],
            registry=r,
        )  # fmt: skip
        self.log_dropped = Gauge(
            "keel_serving_prediction_log_dropped",
            "Predictions the prediction log dropped since start (its queue was full).",
            registry=r,
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def observe_request(
        self, model: str, version: str, route: str, status: int, seconds: float
    ) -> None:
        key = (model, version, route, str(status))
        counter = self._children.get(key)
        if counter is None:
            counter = self.requests.labels(*key)
            self._children[key] = counter
        counter.inc()
        lkey = (model, version, route)
        histogram = self._children.get(lkey)
        if histogram is None:
            histogram = self.latency.labels(*lkey)
            self._children[lkey] = histogram
        histogram.observe(seconds)

    def observe_batch(
        self, model: str, version: str, rows: int, requests: int, seconds: float
    ) -> None:
        self.batch_rows.labels(model, version).observe(rows)
        self.batch_requests.labels(model, version).observe(requests)
        self.batch_seconds.labels(model, version).observe(seconds)

    def error(self, model: str, version: str, kind: str) -> None:
        self.errors.labels(model, version, kind).inc()

    def watch_queue(self, model: str, version: str, rows: Callable[[], int]) -> None:
        self.queue_rows.labels(model, version).set_function(rows)

    def watch_log_drops(self, dropped: Callable[[], int]) -> None:
        self.log_dropped.set_function(dropped)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

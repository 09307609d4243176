"""Prometheus metrics: requests, errors and latency per model and version, across workers."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

# The model label of refusals on names that are no model; a model name never starts with "_".
UNKNOWN_MODEL = "_unknown"
# The method label of requests with a method HTTP does not define: clients choose methods.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServedMetrics:
    """The metric children of one model version, bound once instead of on every request."""

    def __init__(self, metrics: Metrics, model: str, version: str) -> None:
        self._ok = metrics.predictions.labels(model, version, "200")
        self._rows = metrics.prediction_rows.labels(model, version)
        self._latency = metrics.latency.labels(model, version)

    def record(self, rows: int, seconds: float) -> None:
        """Count one answered request of ``rows`` rows that took ``seconds``."""
        self._ok.inc()
        self._rows.inc(rows)
        self._latency.observe(seconds)


class Metrics:
    """One app's metrics; in multiprocess mode the values live in files every worker shares."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self._dir = multiprocess_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self._served: dict[tuple[str, str], ServedMetrics] = {}
        self._http: dict[tuple[str, int], Any] = {}
        # In multiprocess mode the values are files, so the metrics are registered nowhere
        # and the exposition registry only collects those files.
        self.registry = CollectorRegistry()
        target = None if self._dir else self.registry
        self.predictions = Counter(
            "registry_prediction_requests_total",
            "Prediction requests, by model, version and HTTP status.",
            ["model", "version", "status"],
            registry=target,
        )
        self.prediction_rows = Counter(
            "registry_prediction_rows_total",
            "Rows predicted, by model and version.",
            ["model", "version"],
            registry=target,
        )
        self.prediction_errors = Counter(
            "registry_prediction_errors_total",
            "Prediction requests refused, by model, version and error code.",
            ["model", "version", "code"],
            registry=target,
        )
        self.latency = Histogram(
            "registry_prediction_latency_seconds",
            "Time to answer a prediction, by model and version.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=target,
        )
        self.http = Counter(
            "registry_http_requests_total",
            "HTTP requests, by method and status.",
            ["method", "status"],
            registry=target,
        )

    def count_http(self, method: str, status: int) -> None:
        """Count one HTTP request by method and status."""
        key = (method, status)
        child = self._http.get(key)
        if child is None:
            label = method if method in _METHODS else "OTHER"
            child = self.http.labels(label, str(status))
            if label == method:
                self._http[key] = child
        child.inc()

    def refused(self, model: str, version: str, status: int, code: str) -> None:
        """Count one refused prediction request; ``model`` must name a model or UNKNOWN_MODEL."""
        self.predictions.labels(model, version, str(status)).inc()
        self.prediction_errors.labels(model, version, code).inc()

    def served(self, model: str, version: str) -> ServedMetrics:
        """Return the bound metrics of one model version."""
        key = (model, version)
        found = self._served.get(key)
        if found is None:
            if len(self._served) > 100_000:
                self._served.clear()
            found = self._served[key] = ServedMetrics(self, model, version)
        return found

    def exposition(self) -> bytes:
        """Return the Prometheus text format of every worker's metrics."""
        if self._dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self._dir)
            return generate_latest(registry)
        return generate_latest(self.registry)

"""Prometheus metrics: requests, errors and latency per model and version, across workers."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """One app's metrics; in multiprocess mode the values live in files every worker shares."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self._dir = multiprocess_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
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

    def exposition(self) -> bytes:
        """Return the Prometheus text format of every worker's metrics."""
        if self._dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self._dir)
            return generate_latest(registry)
        return generate_latest(self.registry)

"""Small-model uploads: latency one at a time and throughput four at a time, per intake path.

The two paths are the same code with REGISTRY_INTAKE_ZYGOTE off (a fresh interpreter per
upload, as before the zygote) and on (a fork of the worker's zygote), measured in
interleaved rounds so that both see the same machine load.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import joblib
import numpy as np
import requests
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.bench.servers import ServerProcess
from registry.bench.workload import FEATURES, house_rows

PATHS = {"fresh interpreter": "false", "zygote": "true"}
PARALLEL = 4


@dataclass
class UploadFigures:
    """One intake path's uploads over every round."""

    path: str
    cold_s: list[float] = field(default_factory=list)  # the first upload on each server
    one_at_a_time_s: list[float] = field(default_factory=list)
    parallel_uploads: int = 0
    parallel_wall_s: float = 0.0
    failures: list[int] = field(default_factory=list)  # HTTP statuses other than 201
    load_average: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        """Return the q-th percentile of the one-at-a-time uploads, in seconds."""
        times = self.one_at_a_time_s
        return float(np.percentile(times, q)) if times else None

    @property
    def uploads_per_s(self) -> float | None:
        """Uploads answered per second with PARALLEL in flight."""
        return self.parallel_uploads / self.parallel_wall_s if self.parallel_wall_s else None


def small_model_bytes(variant: int) -> bytes:
    """A StandardScaler + Ridge over the house features; each variant is a different file."""
    rows = house_rows(200, seed=variant)
    x = np.array([[row[name] for name in FEATURES] for row in rows])
    y = x @ np.array([150.0, 10_000.0, 15_000.0, -800.0])
    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0 + variant)).fit(x, y)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


class _Uploader:
    def __init__(self, server: ServerProcess, token: str, name: str) -> None:
        self.server, self.name = server, name
        self.headers = {"Authorization": f"Bearer {token}"}
        self.variant = 0
        self.lock = threading.Lock()
        requests.post(
            f"{server.url}/api/v1/models", json={"name": name}, headers=self.headers, timeout=60
        ).raise_for_status()

    def upload(self) -> tuple[int, float]:
        with self.lock:
            self.variant += 1
            variant = self.variant
        data = small_model_bytes(variant)
        started = time.perf_counter()
        answer = requests.post(
            f"{self.server.url}/api/v1/models/{self.name}/versions",
            files={"artifact": ("small.joblib", data)},
            data={"features": json.dumps(list(FEATURES))},
            headers=self.headers,
            timeout=600,
        )
        return answer.status_code, time.perf_counter() - started


def measure_round(figures: UploadFigures, uploader: _Uploader, count: int, cold: bool) -> None:
    """Time ``count`` uploads one at a time, then ``count`` with PARALLEL in flight."""
    figures.load_average.append(os.getloadavg()[0])
    if cold:
        status, seconds = uploader.upload()
        figures.cold_s.append(seconds)
        if status != 201:
            figures.failures.append(status)
    for _ in range(count):
        status, seconds = uploader.upload()
        if status == 201:
            figures.one_at_a_time_s.append(seconds)
        else:
            figures.failures.append(status)
    remaining = [count]
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            status, _ = uploader.upload()
            with lock:
                if status == 201:
                    figures.parallel_uploads += 1
                else:
                    figures.failures.append(status)

    threads = [threading.Thread(target=work) for _ in range(PARALLEL)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.parallel_wall_s += time.perf_counter() - started


def measure_uploads(
    start: Callable[[str], ServerProcess], token: str, prefix: str, count: int, rounds: int
) -> tuple[list[UploadFigures], list[str]]:
    """Start one server per path (``start`` gets REGISTRY_INTAKE_ZYGOTE's value) and alternate.

    Returns each path's figures and the names of the models made.
    """
    servers = {path: start(setting) for path, setting in PATHS.items()}
    figures = {path: UploadFigures(path) for path in PATHS}
    uploaders = {
        path: _Uploader(server, token, f"{prefix}-upload-{index}")
        for index, (path, server) in enumerate(servers.items())
    }
    try:
        for round_index in range(rounds):
            for path in PATHS:
                measure_round(figures[path], uploaders[path], count, cold=round_index == 0)
    finally:
        for server in servers.values():
            server.stop()
    return list(figures.values()), [u.name for u in uploaders.values()]

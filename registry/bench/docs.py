"""Many models: /swagger.json timings before and after a change, and memory per worker."""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson

from registry.bench.loadgen import Reply, build_request, fetch, run_load
from registry.bench.servers import ServerProcess, WorkerMemory

SWAGGER = "/api/v1/swagger.json"


@dataclass(frozen=True)
class Timing:
    """Repeated request timings in milliseconds."""

    count: int
    median_ms: float
    max_ms: float
    status: int

    @classmethod
    def of(cls, replies: list[Reply]) -> Timing:
        times = [r.seconds * 1000 for r in replies]
        return cls(len(times), statistics.median(times), max(times), replies[-1].status)


@dataclass(frozen=True)
class DocsFigures:
    """What /swagger.json costs with many models, and the workers' memory afterwards."""

    models: int
    size_bytes: int
    has_etag: bool
    first_after_start_ms: float
    first_after_change: Timing
    unchanged: Timing
    unchanged_if_none_match: Timing | None
    create_model_ms: float
    predicted_requests: int
    predict_errors: int
    memory: list[WorkerMemory]


def _until_every_worker(server: ServerProcess, request: bytes, tries: int = 30) -> list[Reply]:
    """Return each worker's first answer to ``request``.

    Sends as many requests at once as there are workers, so that every idle worker takes one:
    sent one after another, they would mostly reach the same worker.
    """
    first: dict[str, Reply] = {}
    with ThreadPoolExecutor(server.workers) as pool:
        for _ in range(tries):
            for reply in pool.map(lambda r: fetch(server.address, r), [request] * server.workers):
                first.setdefault(reply.headers.get("x-worker", "?"), reply)
            if len(first) >= server.workers:
                break
    return list(first.values())


def measure_docs(
    server: ServerProcess,
    token: str,
    model_names: list[str],
    bump_names: list[str],
    predict_body: bytes,
    repeats: int,
) -> DocsFigures:
    """Time /swagger.json cold, unchanged and after changes, then predict on every model."""
    get = build_request("GET", SWAGGER)
    cold = fetch(server.address, get)
    if cold.status != 200:
        raise RuntimeError(f"{SWAGGER} answered {cold.status}: {cold.body[:300]!r}")
    _until_every_worker(server, get)
    unchanged = Timing.of([fetch(server.address, get) for _ in range(repeats)])
    etag = cold.headers.get("etag")
    conditional = None
    if etag:
        request = build_request("GET", SWAGGER, headers={"If-None-Match": etag})
        conditional = Timing.of([fetch(server.address, request) for _ in range(repeats)])
    after_change: list[Reply] = []
    creations = []
    auth = {"Authorization": f"Bearer {token}"}
    for name in bump_names:
        body = orjson.dumps({"name": name})
        created = fetch(server.address, build_request("POST", "/api/v1/models", body, auth))
        if created.status != 201:
            raise RuntimeError(f"Creating {name} answered {created.status}: {created.body!r}")
        creations.append(created.seconds * 1000)
        after_change += _until_every_worker(server, get)
    predicts = [
        build_request("POST", f"/api/v1/models/{name}/predict", predict_body)
        for name in model_names
    ]
    # Each model once per worker on average; which worker answers is the kernel's choice.
    load = run_load(
        server.address, predicts, 2 * server.workers, total=len(predicts) * server.workers
    )
    return DocsFigures(
        models=len(model_names),
        size_bytes=len(cold.body),
        has_etag=bool(etag),
        first_after_start_ms=cold.seconds * 1000,
        first_after_change=Timing.of(after_change),
        unchanged=unchanged,
        unchanged_if_none_match=conditional,
        create_model_ms=statistics.median(creations),
        predicted_requests=load.completed,
        predict_errors=load.errors,
        memory=server.worker_memory(),
    )

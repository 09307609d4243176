"""Many models: a registry of thousands of models, each with one active version, timed over HTTP.

Populating goes through the services for one template model (create, add the version with
its real plan, activate), then copies that model's rows for every other name in bulk: the
same rows the upload path writes, the version's plan JSON and the one stored artifact (the
store is content-addressed, so every version names the same file) shared by all.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, insert, select, update

from registry.artifacts import ArtifactStore
from registry.bench.loadgen import Reply, build_request, fetch
from registry.bench.servers import ServerProcess, WorkerMemory
from registry.bench.workload import ACTOR, Published, register_models
from registry.db import Database
from registry.models import ActivationEntry, Event, ModelVersion, RegisteredModel
from registry.services.state import EVERY_MODEL, bump_generation
from registry.services.versions import add_version

# Rows inserted per statement batch while copying the template model.
_CHUNK = 1000
_CHILDREN: tuple[Table, ...] = (
    ModelVersion.__table__,  # type: ignore[assignment]
    Event.__table__,  # type: ignore[assignment]
    ActivationEntry.__table__,  # type: ignore[assignment]
)


@dataclass(frozen=True)
class Latency:
    """Request timings in milliseconds: median, 99th percentile, the worst, and server CPU.

    ``cpu_ms`` is the server's processes' user + system CPU time over the series divided by
    its requests (read from /proc, in clock ticks): on a busy machine it moves far less than
    the wall-clock figures.
    """

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: float
    errors: int

    @classmethod
    def of(cls, replies: Sequence[Reply], cpu_seconds: float = 0.0) -> Latency:
        times = sorted(r.seconds * 1000 for r in replies)
        if not times:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0)
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        errors = sum(1 for r in replies if not 200 <= r.status < 400)
        cpu = cpu_seconds * 1000 / len(times)
        return cls(len(times), statistics.median(times), p99, times[-1], cpu, errors)


class _Series:
    """Collects the replies of one kind of request and the server CPU they cost."""

    def __init__(self, server: ServerProcess) -> None:
        self.server, self.replies, self.cpu = server, [], 0.0

    def add(self, send: Callable[[], Reply]) -> Reply:
        before = self.server.cpu_seconds()
        reply = _answer(send)
        self.cpu += self.server.cpu_seconds() - before
        self.replies.append(reply)
        return reply

    def latency(self) -> Latency:
        return Latency.of(self.replies, self.cpu)


@dataclass(frozen=True)
class ManyFigures:
    """What a registry of ``models`` models costs: start, memory, documents, first answers."""

    backend: str
    models: int
    populate_s: float
    start_to_ready_s: float
    start_cpu_s: float
    memory_after_start: list[WorkerMemory]
    swagger_first_per_worker: Latency
    swagger_bytes: int
    swagger_after_change: Latency
    openapi_after_change: Latency
    model_spec_after_change: Latency
    activate_ms: Latency
    memory_after_docs: list[WorkerMemory]
    first_prediction_untouched: Latency
    list_pages: Latency
    search_pages: Latency
    memory_after_predicting_all: list[WorkerMemory] | None
    openapi_first_per_worker: Latency | None = None
    openapi_bytes: int = 0


def model_names(prefix: str, count: int) -> list[str]:
    """Return the names of the many models: ``prefix``-m00000 on."""
    return [f"{prefix}-m{i:05d}" for i in range(count)]


def register_many(
    db: Database, store: ArtifactStore, published: Published, names: Sequence[str]
) -> None:
    """Give every name a model with one active version, the same as the upload path writes."""
    template, rest = names[0], list(names[1:])
    register_models(db, store, published, [template])
    with db.read() as session:
        model = (
            session.execute(
                select(RegisteredModel.__table__).where(RegisteredModel.name == template)
            )
            .one()
            ._asdict()
        )
        children = {
            table: [
                row._asdict()
                for row in session.execute(select(table).where(table.c.model_id == model["id"]))
            ]
            for table in _CHILDREN
        }
    models = RegisteredModel.__table__
    for start in range(0, len(rest), _CHUNK):
        chunk = rest[start : start + _CHUNK]
        with db.write() as session:
            # The active version is set once the version rows exist (a foreign key).
            session.execute(
                insert(models),
                [{**_without_id(model), "name": name, "active_version": None} for name in chunk],
            )
            ids = list(session.scalars(select(models.c.id).where(models.c.name.in_(chunk))))
            for table, rows in children.items():
                copies = [
                    {**_without_id(row), "model_id": model_id} for model_id in ids for row in rows
                ]
                session.execute(insert(table), copies)
            session.execute(
                update(models)
                .where(models.c.id.in_(ids))
                .values(active_version=model["active_version"])
            )
            bump_generation(session, EVERY_MODEL)


def _without_id(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "id"}


def add_second_version(db: Database, store: ArtifactStore, published: Published, name: str) -> None:
    """Give ``name`` a second (inactive) version, so activations can flip between the two."""
    from registry.artifacts import sha256_of

    with db.write() as session:
        add_version(
            session, store, name, published.inspected, published.data,
            sha256_of(published.data), ACTOR,
        )  # fmt: skip


def _answer(send: Callable[[], Reply]) -> Reply:
    """Return the answer, or status 0 when the server closed or timed out without one."""
    started = time.perf_counter()
    try:
        return send()
    except (OSError, IndexError, ValueError):
        return Reply(0, {}, b"", time.perf_counter() - started)


def _first_per_worker(server: ServerProcess, path: str, tries: int = 30) -> tuple[Latency, int]:
    """Time each worker's first answer to GET ``path``, however long it takes.

    Sends as many requests at once as there are workers, so that every idle worker takes one;
    the server CPU is the whole exchange's divided by the workers' first answers. Also
    returns the largest answer's size in bytes.
    """
    first: dict[str, Reply] = {}
    before = server.cpu_seconds()
    request = build_request("GET", path)
    with ThreadPoolExecutor(server.workers) as pool:
        for _ in range(tries):
            sent = [request] * server.workers
            ask = lambda r: _answer(lambda: fetch(server.address, r, timeout=900))  # noqa: E731
            for reply in pool.map(ask, sent):
                first.setdefault(reply.headers.get("x-worker", "?"), reply)
            if len(first) >= server.workers:
                break
    replies = list(first.values())
    size = max((len(r.body) for r in replies), default=0)
    return Latency.of(replies, server.cpu_seconds() - before), size


def _get(server: ServerProcess, path: str) -> Callable[[], Reply]:
    return lambda: fetch(server.address, build_request("GET", path), timeout=900)


def _post(server: ServerProcess, path: str, body: bytes, **headers: str) -> Callable[[], Reply]:
    return lambda: fetch(server.address, build_request("POST", path, body, headers), timeout=900)


def measure_many(
    start_server: Callable[[], ServerProcess],
    backend: str,
    token: str,
    names: Sequence[str],
    flip: str,
    predict_body: bytes,
    populate_s: float,
    changes: int = 10,
    untouched: int = 200,
    pages: int = 100,
    predict_all: bool = True,
) -> ManyFigures:
    """Start a server on the populated registry and time what many models make slow.

    ``flip`` is a model with versions 1 and 2: each change activates the other one. Requests
    go one at a time, each on its own connection.
    """
    started = time.perf_counter()
    server = start_server()
    try:
        start_to_ready = time.perf_counter() - started
        start_cpu = server.cpu_seconds()
        after_start = server.worker_memory()
        rng = random.Random(0)
        fresh = rng.sample(list(names[changes:]), min(untouched, len(names) - changes))
        first = _Series(server)
        for name in fresh:
            first.add(_post(server, f"/api/v1/models/{name}/predict", predict_body))
        listing, searching = _Series(server), _Series(server)
        last_page = max(1, len(names) // 50)
        for _ in range(pages):
            page = f"/api/v1/models?page={rng.randint(1, last_page)}&per_page=50"
            listing.add(_get(server, page))
            search = f"/api/v1/models?q=m{rng.randrange(1000):03d}&per_page=20"
            searching.add(_get(server, search))
        firsts, swagger_bytes = _first_per_worker(server, "/api/v1/swagger.json")
        openapi_firsts, openapi_bytes = _first_per_worker(server, "/api/v1/openapi.json")
        activate, swagger, openapi, spec = (_Series(server) for _ in range(4))
        for change in range(changes):
            path = f"/api/v1/models/{flip}/versions/{2 - change % 2}/activate"
            activate.add(_post(server, path, b"", Authorization=f"Bearer {token}"))
            swagger.add(_get(server, "/api/v1/swagger.json"))
            openapi.add(_get(server, "/api/v1/openapi.json"))
            schema = f"/api/v1/models/{names[change]}/versions/1/schema"
            spec.add(_get(server, schema))
        after_docs = server.worker_memory()
        after_all = None
        if predict_all:
            for name in names:
                _answer(_post(server, f"/api/v1/models/{name}/predict", predict_body))
            after_all = server.worker_memory()
    finally:
        server.stop()
    return ManyFigures(
        backend=backend,
        models=len(names),
        populate_s=populate_s,
        start_to_ready_s=start_to_ready,
        start_cpu_s=start_cpu,
        memory_after_start=after_start,
        swagger_first_per_worker=firsts,
        swagger_bytes=swagger_bytes,
        swagger_after_change=swagger.latency(),
        openapi_after_change=openapi.latency(),
        model_spec_after_change=spec.latency(),
        activate_ms=activate.latency(),
        memory_after_docs=after_docs,
        first_prediction_untouched=first.latency(),
        list_pages=listing.latency(),
        search_pages=searching.latency(),
        memory_after_predicting_all=after_all,
        openapi_first_per_worker=openapi_firsts,
        openapi_bytes=openapi_bytes,
    )


def describe(figures: ManyFigures) -> list[str]:
    """Return the report's lines for one backend."""

    def lat(latency: Latency) -> str:
        errors = f", {latency.errors} errors" if latency.errors else ""
        return (
            f"p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms, max {latency.max_ms:.2f} "
            f"ms, server CPU {latency.cpu_ms:.2f} ms/request ({latency.count} requests{errors})"
        )

    def mb(memory: list[WorkerMemory] | None) -> str:
        if memory is None:
            return "not measured"
        return ", ".join(f"{m.rss_mb:.0f}" for m in memory) + " MiB"

    f = figures
    return [
        f"Many models on {f.backend}: {f.models:,} models with one active version each "
        f"(populated in {f.populate_s:.1f} s)",
        f"  start to ready (serve until /health/ready)  {f.start_to_ready_s:.2f} s, "
        f"{f.start_cpu_s:.2f} s of CPU (master and workers)",
        f"  RSS per worker after start                  {mb(f.memory_after_start)}",
        f"  swagger.json, each worker's first ({f.swagger_bytes / 1e6:.1f} MB)  "
        f"{lat(f.swagger_first_per_worker)}",
        f"  openapi.json, each worker's first ({f.openapi_bytes / 1e6:.1f} MB)  "
        + (lat(f.openapi_first_per_worker) if f.openapi_first_per_worker else "not measured"),
        f"  activate (POST .../activate)                {lat(f.activate_ms)}",
        f"  swagger.json right after an activation      {lat(f.swagger_after_change)}",
        f"  openapi.json right after an activation      {lat(f.openapi_after_change)}",
        f"  a version's schema right after one          {lat(f.model_spec_after_change)}",
        f"  RSS per worker after both documents         {mb(f.memory_after_docs)}",
        f"  first prediction of an untouched model      {lat(f.first_prediction_untouched)}",
        f"  list models, a random page of 50            {lat(f.list_pages)}",
        f"  search models (?q=, 20 a page)              {lat(f.search_pages)}",
        f"  RSS per worker after predicting every model {mb(f.memory_after_predicting_all)}",
    ]


def as_json(figures: ManyFigures) -> dict[str, Any]:
    """Return the figures as plain JSON."""
    import dataclasses

    return orjson.loads(orjson.dumps(dataclasses.asdict(figures)))


@dataclass(frozen=True)
class ManySettings:
    """What the many-models part was asked for."""

    models: int
    workers: int
    postgres_url: str | None
    changes: int = 10
    untouched: int = 200
    pages: int = 100
    predict_all: bool = True


def run_many(
    settings: ManySettings, folder: Path, echo: Callable[[str], None]
) -> list[ManyFigures]:
    """Populate a fresh SQLite database (and PostgreSQL's, when given) and measure each."""
    from registry.bench.generation import scratch_postgres

    figures = [_on_database(settings, f"sqlite:///{folder / 'many.db'}", folder, echo)]
    if settings.postgres_url:
        with scratch_postgres(settings.postgres_url) as url:
            figures.append(_on_database(settings, url, folder, echo))
    return figures


def _on_database(
    settings: ManySettings, url: str, folder: Path, echo: Callable[[str], None]
) -> ManyFigures:
    from registry.artifacts import make_store
    from registry.bench.servers import start_registry
    from registry.bench.workload import publish_house, publisher_token, single_body
    from registry.db import connect
    from registry.migrate import upgrade

    backend = url.split(":", 1)[0].split("+")[0]
    artifacts = folder / f"many-artifacts-{backend}"
    database = connect(url)
    store = make_store("filesystem", artifacts)
    try:
        upgrade(database.engine)
        echo(f"Many models on {backend}: publishing the template through the sandbox...")
        published = publish_house(database, store, "many-flip")
        add_second_version(database, store, published, "many-flip")
        names = model_names("many", settings.models)
        started = time.perf_counter()
        register_many(database, store, published, names)
        populate_s = time.perf_counter() - started
        echo(f"Registered {len(names):,} models in {populate_s:.1f} s; starting the server...")
        token = publisher_token(database)
    finally:
        database.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PROMETHEUS_"))}
    metrics = folder / f"many-metrics-{backend}"
    metrics.mkdir()
    env.update(
        REGISTRY_DATABASE_URL=url,
        REGISTRY_ARTIFACT_ROOT=str(artifacts),
        REGISTRY_WORKER_HEADER="true",
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )
    log = folder / f"many-{backend}.log"
    return measure_many(
        lambda: start_registry(env, settings.workers, log, timeout=600),
        backend,
        token,
        names,
        "many-flip",
        single_body(),
        populate_s,
        settings.changes,
        settings.untouched,
        settings.pages,
        settings.predict_all,
    )

"""The whole benchmark: prepare a database, run each phase, and gather the figures."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config import Config
from registry.artifacts import ArtifactStore, make_store
from registry.bench.categories import CategoryUpload, measure_categories
from registry.bench.ceiling import PARSER
from registry.bench.docs import DocsFigures, measure_docs
from registry.bench.generation import (
    CrossServer,
    GenerationCost,
    measure_cross_server,
    measure_generation,
    scratch_postgres,
    sqlite_url,
)
from registry.bench.loadgen import LoadResult
from registry.bench.many import ManyFigures, ManySettings, run_many
from registry.bench.measure import Scenario, ScenarioFigures, Target, drive, run_rounds
from registry.bench.servers import (
    ServerProcess,
    WorkerMemory,
    granian_installed,
    start_ceiling,
    start_granian_ceiling,
    start_granian_registry,
    start_registry,
    start_trivial,
)
from registry.bench.uploads import PARALLEL, UploadFigures, measure_uploads
from registry.bench.workload import (
    Published,
    batch_body,
    publish_house,
    publisher_token,
    register_models,
    remove_models,
    single_body,
)
from registry.bench.wrk import wrk_path
from registry.db import Database, connect
from registry.migrate import upgrade

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """Everything `manage.py bench` was asked for."""

    workers: int
    duration: float
    rounds: int
    concurrency: tuple[int, ...]
    batch_rows: int
    batch_concurrency: int
    models: int
    database_url: str | None
    use_configured_database: bool
    postgres_url: str | None
    scaling: bool
    client: str
    warmup: float
    repeats: int
    bumps: int
    generation_calls: int
    stalled: int = 100
    category_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    # Small-model uploads per intake path and round, one at a time then 4 at a time.
    upload_count: int = 10
    upload_rounds: int = 2
    many: ManySettings | None = None


@dataclass(frozen=True)
class Phase:
    """Load figures at one worker count, with the workers' memory after the load."""

    workers: int
    scenarios: list[ScenarioFigures]
    server_memory: list[WorkerMemory]
    ceiling_memory: list[WorkerMemory]


@dataclass(frozen=True)
class Results:
    """Every figure of one benchmark run."""

    settings: Settings
    cores: int
    tool: str
    client_capacity: LoadResult
    ceiling_parser: str
    database: str
    model: str
    seconds: float
    load_average: tuple[float, float]
    main: Phase
    scaling: Phase | None
    docs: DocsFigures
    categories: list[CategoryUpload]
    generation: list[GenerationCost]
    generation_errors: list[str]
    many: list[ManyFigures] = field(default_factory=list)
    cross_server: CrossServer | None = None
    uploads: list[UploadFigures] = field(default_factory=list)


def choose_tool(client: str) -> str:
    """Return 'wrk' or 'builtin' for --client auto|wrk|builtin."""
    if client == "builtin":
        return "builtin"
    if wrk_path() is None:
        if client == "wrk":
            raise RuntimeError("wrk is not installed; use --client builtin or auto.")
        return "builtin"
    return "wrk"


def calibrate(tool: str, folder: Path, concurrency: int, duration: float) -> LoadResult:
    """Return what the load generator reaches against a trivial socket server."""
    process, address = start_trivial(folder / "trivial.log")
    try:
        server = ServerProcess("trivial server", address, process, folder / "trivial.log", 1)
        return drive(tool, Target(server, "/"), single_body(), concurrency, duration)
    finally:
        process.kill()
        process.wait()


def _server_env(settings: Settings, folder: Path) -> tuple[dict[str, str], Config]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["REGISTRY_WORKER_HEADER"] = "true"  # the docs figures take one answer per worker
    if settings.use_configured_database:
        return env, Config.from_env()
    env = {k: v for k, v in env.items() if not k.startswith("REGISTRY_")}
    url = settings.database_url or f"sqlite:///{folder / 'registry.db'}"
    config = Config(database_url=url, artifact_root=folder / "artifacts")
    env.update(REGISTRY_DATABASE_URL=url, REGISTRY_ARTIFACT_ROOT=str(config.artifact_root))
    return env, config


class _Servers:
    """Starts servers with their own metrics folders and stops every one of them at the end."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder, self.count = env, folder, 0
        self.started: list[ServerProcess] = []

    def start(
        self, kind: str, workers: int, ready_timeout: float | None = None, **settings: str
    ) -> ServerProcess:
        self.count += 1
        metrics = self.folder / f"metrics-{self.count}"
        metrics.mkdir()
        env = {**self.env, **settings, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        log = self.folder / f"{kind}-{self.count}.log"
        if kind == "server-sync":
            env["REGISTRY_WORKER_CLASS"] = "sync"
        starters = {
            "server": start_registry,
            "server-sync": start_registry,
            "ceiling": start_ceiling,
            "granian": start_granian_ceiling,
            "server-granian": start_granian_registry,
        }
        if ready_timeout is None:
            server = starters[kind](env, workers, log)
        else:
            server = starters[kind](env, workers, log, ready_timeout)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


def _load_phase(
    settings: Settings,
    servers: _Servers,
    tool: str,
    workers: int,
    scenarios: list[Scenario],
    path: str,
) -> Phase:
    server = servers.start("server", workers)
    ceiling = servers.start("ceiling", workers)
    others = {"sync workers": Target(servers.start("server-sync", workers), path)}
    if granian_installed():
        others["granian ceiling"] = Target(servers.start("granian", workers), "/predict")
        others["app on granian"] = Target(servers.start("server-granian", workers), path)
    figures = run_rounds(
        tool,
        Target(server, path),
        Target(ceiling, "/predict"),
        scenarios,
        settings.rounds,
        settings.duration,
        settings.warmup,
        others,
    )
    phase = Phase(workers, figures, server.worker_memory(), ceiling.worker_memory())
    for target in [server, ceiling, *(t.server for t in others.values())]:
        target.stop()
    return phase


@dataclass(frozen=True)
class _Context:
    """The prepared database and what the phases share."""

    database: Database
    store: ArtifactStore
    prefix: str
    published: Published
    token: str


def _scenarios(settings: Settings) -> list[Scenario]:
    single, batch = single_body(), batch_body(settings.batch_rows)
    scenarios = [Scenario(f"1 row, c={c}", 1, c, single) for c in settings.concurrency]
    name = f"{settings.batch_rows} rows, c={settings.batch_concurrency}"
    scenarios.append(Scenario(name, settings.batch_rows, settings.batch_concurrency, batch))
    if settings.stalled:
        top = max(settings.concurrency)
        name = f"1 row, c={top}, {settings.stalled} stalled"
        scenarios.append(Scenario(name, 1, top, single, settings.stalled))
    return scenarios


def _docs_phase(
    settings: Settings, servers: _Servers, context: _Context, created: list[str], echo: Echo
) -> DocsFigures:
    started = time.monotonic()
    names = [f"{context.prefix}-m{i:05d}" for i in range(settings.models)]
    bumps = [f"{context.prefix}-bump{i}" for i in range(settings.bumps)]
    created += names + bumps
    register_models(context.database, context.store, context.published, names)
    echo(f"Registered {len(names)} models in {time.monotonic() - started:.1f} s.")
    server = servers.start("server", settings.workers)
    echo("Timing /swagger.json and predicting on every model...")
    docs = measure_docs(server, context.token, names, bumps, single_body(), settings.repeats)
    server.stop()
    return docs


def run_bench(settings: Settings, echo: Echo) -> Results:
    """Run every phase of the benchmark and return its figures."""
    began, load_before = time.monotonic(), os.getloadavg()[0]
    tool = choose_tool(settings.client)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as name:
        folder = Path(name)
        env, config = _server_env(settings, folder)
        database = connect(config.database_url)
        store = make_store(config.artifact_store, config.artifact_root)
        servers = _Servers(env, folder)
        prefix = f"bench-{secrets.token_hex(3)}"
        created = [f"{prefix}-house"]
        try:
            upgrade(database.engine)
            echo("Publishing the house model through the sandboxed intake...")
            published = publish_house(database, store, created[0])
            context = _Context(database, store, prefix, published, publisher_token(database))
            echo(f"Load generator: {tool}; measuring it against a trivial socket server...")
            top = max(settings.concurrency)
            capacity = calibrate(tool, folder, top, min(settings.duration, 2.0))
            scenarios = _scenarios(settings)
            path = f"/api/v1/models/{published.name}/predict"
            echo(f"Load: {settings.workers} workers, {settings.rounds} rounds...")
            main = _load_phase(settings, servers, tool, settings.workers, scenarios, path)
            scaling = None
            if settings.scaling:
                echo("Scaling: the same load on 1 worker...")
                wide = [s for s in scenarios if s.concurrency > 1 and not s.stalled]
                scaling = _load_phase(settings, servers, tool, 1, wide, path)
            echo(f"Registering {settings.models} models...")
            docs = _docs_phase(settings, servers, context, created, echo)
            categories = []
            if settings.category_sizes:
                echo(f"Uploading one-hot models of {settings.category_sizes} categories...")
                server = servers.start("server", settings.workers)
                categories, names = measure_categories(
                    server, context.token, context.prefix, settings.category_sizes
                )
                created += names
                server.stop()
            uploads = _uploads_phase(settings, servers, context.token, prefix, created, echo)
        finally:
            servers.stop_all()
            if settings.database_url or settings.use_configured_database:
                remove_models(database, created)
            database.dispose()
        echo("Timing the generation check...")
        generation, cross_server, errors = _generation(settings, folder)
        many = run_many(settings.many, folder, echo) if settings.many else []
    return Results(
        settings=settings,
        cores=os.cpu_count() or 1,
        tool=tool,
        client_capacity=capacity,
        ceiling_parser=PARSER,
        database=_describe(config.database_url, settings),
        model=f"{published.name} v{published.version}, {published.inspected.estimator}",
        seconds=time.monotonic() - began,
        load_average=(load_before, os.getloadavg()[0]),
        main=main,
        scaling=scaling,
        docs=docs,
        categories=categories,
        generation=generation,
        generation_errors=errors,
        cross_server=cross_server,
        uploads=uploads,
        many=many,
    )


def _uploads_phase(
    settings: Settings, servers: _Servers, token: str, prefix: str, created: list[str], echo: Echo
) -> list[UploadFigures]:
    if not settings.upload_count:
        return []
    echo(
        f"Uploading small models: {settings.upload_rounds} rounds of {settings.upload_count} "
        f"one at a time and {settings.upload_count} {PARALLEL} at a time, fresh interpreter "
        "and zygote in turn..."
    )

    def start(zygote: str) -> ServerProcess:
        # A slot per upload in flight: the figures are the intake's, not the slot policy's.
        return servers.start(
            "server",
            settings.workers,
            # Readiness opens a sandboxed child: on a loaded machine a fresh one takes minutes.
            ready_timeout=600,
            REGISTRY_INTAKE_ZYGOTE=zygote,
            REGISTRY_INTAKE_SLOTS=str(PARALLEL),
            REGISTRY_INTAKE_QUEUE_SECONDS="600",
        )

    figures, names = measure_uploads(
        start, token, prefix, settings.upload_count, settings.upload_rounds
    )
    created += names
    return figures


def run_uploads(settings: Settings, echo: Echo) -> list[UploadFigures]:
    """Run only the small-model upload phase, on its own temporary database."""
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as name:
        folder = Path(name)
        env, config = _server_env(settings, folder)
        database = connect(config.database_url)
        servers = _Servers(env, folder)
        prefix = f"bench-{secrets.token_hex(3)}"
        created: list[str] = []
        try:
            upgrade(database.engine)
            token = publisher_token(database)
            return _uploads_phase(settings, servers, token, prefix, created, echo)
        finally:
            servers.stop_all()
            if settings.database_url or settings.use_configured_database:
                remove_models(database, created)
            database.dispose()


def _generation(
    settings: Settings, folder: Path
) -> tuple[list[GenerationCost], CrossServer | None, list[str]]:
    costs = [measure_generation(sqlite_url(folder), settings.generation_calls)]
    errors = []
    cross_server = None
    if settings.postgres_url:
        try:
            with scratch_postgres(settings.postgres_url) as url:
                costs.append(measure_generation(url, max(settings.generation_calls // 10, 100)))
                cross_server = measure_cross_server(url, max(settings.generation_calls // 10, 100))
        except Exception as error:  # noqa: BLE001 - reported, the other figures still stand
            errors.append(f"PostgreSQL: {type(error).__name__}: {error}".splitlines()[0])
    return costs, cross_server, errors


def _describe(url: str, settings: Settings) -> str:
    backend = url.split(":", 1)[0]
    if settings.use_configured_database:
        return f"{backend} (REGISTRY_DATABASE_URL)"
    return f"{backend} (--database-url)" if settings.database_url else f"{backend} (temporary)"

"""Load rounds: drive the server and the ceiling in turn, and summarise each scenario."""

from __future__ import annotations

import socket
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from registry.bench.loadgen import Address, LoadResult, build_request, run_load
from registry.bench.servers import ServerProcess
from registry.bench.wrk import run_wrk


@dataclass(frozen=True)
class Spread:
    """Noise over rounds: the smallest, median and largest value."""

    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(min(values), statistics.median(values), max(values))


@dataclass(frozen=True)
class Scenario:
    """One kind of load: a body, its row count, how many requests are in flight, and how many
    other connections stall (silent, mid-headers or mid-body) on the server meanwhile."""

    name: str
    rows: int
    concurrency: int
    body: bytes
    stalled: int = 0


@dataclass(frozen=True)
class Target:
    """A server under load and the path its prediction route answers on."""

    server: ServerProcess
    path: str


@dataclass(frozen=True)
class TargetFigures:
    """One target's figures in one scenario, over every round; latencies in milliseconds."""

    requests_per_s: Spread
    rows_per_s: Spread
    p50_ms: Spread
    p99_ms: Spread
    errors: int
    server_cpu_us_per_request: float
    server_cores: float
    client_cpu_us_per_request: float
    client_cores: float


@dataclass(frozen=True)
class Other:
    """Another target of a scenario (another ceiling, another worker class) and the server's
    throughput ratio to it round by round."""

    label: str
    figures: TargetFigures
    ratio: Spread


@dataclass(frozen=True)
class ScenarioFigures:
    """Server and ceiling in one scenario, and their throughput ratio round by round."""

    name: str
    rows: int
    concurrency: int
    server: TargetFigures
    ceiling: TargetFigures
    ratio: Spread
    others: list[Other]


def best_ceiling(scenario: ScenarioFigures) -> tuple[str, Spread]:
    """Return the fastest ceiling of a scenario (gunicorn's or granian's, by median req/s)
    and the server's throughput ratio to it, round by round."""
    candidates = [("ceiling", scenario.ceiling, scenario.ratio)]
    candidates += [(o.label, o.figures, o.ratio) for o in scenario.others if "ceiling" in o.label]
    label, _, ratio = max(candidates, key=lambda c: c[1].requests_per_s.median)
    return label, ratio


def drive(tool: str, target: Target, body: bytes, concurrency: int, duration: float) -> LoadResult:
    """Put one target under load for ``duration`` seconds with the chosen load generator."""
    if tool == "wrk":
        return run_wrk(f"{target.server.url}{target.path}", body, concurrency, duration)
    request = build_request("POST", target.path, body)
    return run_load(target.server.address, [request], concurrency, duration=duration)


@dataclass(frozen=True)
class Measured:
    """One load run and the CPU time the target's processes spent during it."""

    load: LoadResult
    server_cpu_seconds: float


def measure(tool: str, target: Target, scenario: Scenario, duration: float) -> Measured:
    """Drive one target through one scenario, counting the CPU its processes use."""
    stalled = stall(target.server.address, target.path, scenario.stalled)
    try:
        before = target.server.cpu_seconds()
        load = drive(tool, target, scenario.body, scenario.concurrency, duration)
        return Measured(load, target.server.cpu_seconds() - before)
    finally:
        for sock in stalled:
            sock.close()


def stall(address: Address, path: str, count: int) -> list[socket.socket]:
    """Open ``count`` connections that stall: a third silent, a third mid-headers, a third
    mid-body."""
    body = b'{"area": 1500}'
    head = build_request("POST", path, body)[: -len(body)]
    partial = [b"", head[:20], head + body[:5]]
    opened = []
    for index in range(count):
        sock = socket.create_connection(address, timeout=10)
        if partial[index % 3]:
            sock.sendall(partial[index % 3])
        opened.append(sock)
    return opened


def summarise(runs: list[Measured], rows: int) -> TargetFigures:
    """Turn one target's rounds into spreads."""
    results = [run.load for run in runs]
    completed = sum(r.completed for r in results) or 1
    seconds = sum(r.seconds for r in results) or 1.0
    server_cpu = sum(run.server_cpu_seconds for run in runs)
    return TargetFigures(
        requests_per_s=Spread.of([r.requests_per_second for r in results]),
        rows_per_s=Spread.of([r.requests_per_second * rows for r in results]),
        p50_ms=Spread.of([r.p50 * 1000 for r in results]),
        p99_ms=Spread.of([r.p99 * 1000 for r in results]),
        errors=sum(r.errors for r in results),
        server_cpu_us_per_request=server_cpu / completed * 1e6,
        server_cores=server_cpu / seconds,
        client_cpu_us_per_request=sum(r.client_cpu_seconds for r in results) / completed * 1e6,
        client_cores=sum(r.client_cpu_seconds for r in results) / seconds,
    )


def _ratios(ours: list[Measured], theirs: list[Measured]) -> Spread:
    return Spread.of(
        [
            a.load.requests_per_second / b.load.requests_per_second
            if b.load.requests_per_second
            else 0.0
            for a, b in zip(ours, theirs, strict=True)
        ]
    )


def run_rounds(
    tool: str,
    server: Target,
    ceiling: Target,
    scenarios: list[Scenario],
    rounds: int,
    duration: float,
    warmup: float,
    others: dict[str, Target] | None = None,
) -> list[ScenarioFigures]:
    """Warm every target up, then run every scenario once per round, rotating who goes first.

    ``others`` (label: target) are measured the same way, beside the server and the ceiling.
    """
    targets = [("server", server), ("ceiling", ceiling), *(others or {}).items()]
    for scenario in scenarios:
        for _, target in targets:
            drive(tool, target, scenario.body, scenario.concurrency, warmup)
    results: dict[tuple[str, str], list[Measured]] = {}
    for number in range(rounds):
        shift = number % len(targets)
        order = targets[shift:] + targets[:shift]
        for scenario in scenarios:
            for label, target in order:
                run = measure(tool, target, scenario, duration)
                results.setdefault((scenario.name, label), []).append(run)
    figures = []
    for scenario in scenarios:
        ours = results[(scenario.name, "server")]
        bare = results[(scenario.name, "ceiling")]
        figures.append(
            ScenarioFigures(
                name=scenario.name,
                rows=scenario.rows,
                concurrency=scenario.concurrency,
                server=summarise(ours, scenario.rows),
                ceiling=summarise(bare, scenario.rows),
                ratio=_ratios(ours, bare),
                others=[
                    Other(
                        label,
                        summarise(results[(scenario.name, label)], scenario.rows),
                        _ratios(ours, results[(scenario.name, label)]),
                    )
                    for label, _ in targets[2:]
                ],
            )
        )
    return figures

"""The benchmark's outputs: a plain-text table for people and a JSON file for machines."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from registry.bench.docs import SWAGGER, Timing
from registry.bench.many import describe
from registry.bench.measure import Spread, TargetFigures, best_ceiling
from registry.bench.run import Phase, Results
from registry.bench.servers import WorkerMemory
from registry.bench.uploads import PARALLEL, UploadFigures


def to_json(results: Results) -> dict[str, Any]:
    """Return every figure as plain JSON types, with a few headline numbers on top."""
    data = dataclasses.asdict(results)
    data["headline"] = {
        scenario.name: {
            "server_requests_per_s": scenario.server.requests_per_s.median,
            "ceiling_requests_per_s": scenario.ceiling.requests_per_s.median,
            "server_rows_per_s": scenario.server.rows_per_s.median,
            "ratio": scenario.ratio.median,
            **{f"ratio_to_{o.label.replace(' ', '_')}": o.ratio.median for o in scenario.others},
            "best_ceiling": best_ceiling(scenario)[0],
            "ratio_to_best_ceiling": best_ceiling(scenario)[1].median,
            "server_cpu_us_per_request": scenario.server.server_cpu_us_per_request,
        }
        for scenario in results.main.scenarios
    }
    data["headline"]["server_peak_mb_per_worker"] = _peak(results.main.server_memory)
    data["headline"]["docs_peak_mb_per_worker"] = _peak(results.docs.memory)
    data["headline"]["uploads"] = uploads_json(results.uploads)
    return data


def uploads_json(figures: list[UploadFigures]) -> dict[str, Any]:
    """Return each intake path's upload figures: p50, p99, uploads/s four at a time."""
    return {
        f.path: {
            "p50_s": f.percentile(50),
            "p99_s": f.percentile(99),
            "one_at_a_time": len(f.one_at_a_time_s),
            "cold_s": f.cold_s,
            f"uploads_per_s_{PARALLEL}_parallel": f.uploads_per_s,
            "failures": f.failures,
            "load_average": f.load_average,
        }
        for f in figures
    }


def render_uploads(figures: list[UploadFigures]) -> list[str]:
    """Return the small-model upload lines of the report."""
    if not figures:
        return []
    lines = [
        "",
        "Small-model uploads (POST .../versions over HTTP; StandardScaler + Ridge, 4 features):",
    ]
    for f in figures:
        p50, p99, rate = f.percentile(50), f.percentile(99), f.uploads_per_s
        lines.append(
            f"  {f.path:<18} p50 {_s(p50)}, p99 {_s(p99)} ({len(f.one_at_a_time_s)} one at a "
            f"time); {'-' if rate is None else f'{rate:.2f}'} uploads/s {PARALLEL} at a time; "
            f"first {', '.join(f'{c:.2f}' for c in f.cold_s) or '-'} s"
            + (f"; failures {f.failures}" if f.failures else "")
            + f" (load average {', '.join(f'{a:.1f}' for a in f.load_average)})"
        )
    return lines


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def write_json(results: Results, path: Path) -> None:
    """Write the figures to ``path``."""
    path.write_text(json.dumps(to_json(results), indent=2, default=str) + "\n")


def _peak(memory: list[WorkerMemory]) -> float:
    return max((m.peak_mb for m in memory), default=0.0)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _spread(spread: Spread, digits: int = 0) -> str:
    return f"{spread.min:,.{digits}f} / {spread.median:,.{digits}f} / {spread.max:,.{digits}f}"


def _row(scenario: str, label: str, figures: TargetFigures, ratio: str) -> str:
    return (
        f"{scenario:<26} {label:<15} {_spread(figures.requests_per_s):>25} "
        f"{_n(figures.rows_per_s.median):>9} {figures.p50_ms.median:>7.2f} "
        f"{figures.p99_ms.median:>7.2f} {figures.server_cpu_us_per_request:>8.0f} {ratio:>17}"
        + (f"  ({figures.errors} errors)" if figures.errors else "")
    )


def _phase_table(phase: Phase) -> list[str]:
    lines = [
        f"{'scenario':<26} {'target':<15} {'req/s min / median / max':>25} {'rows/s':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU us':>8} {'server/target':>17}"
    ]
    for s in phase.scenarios:
        lines.append(_row(s.name, "server", s.server, ""))
        lines.append(_row("", "ceiling", s.ceiling, _ratio(s.ratio)))
        for other in s.others:
            lines.append(_row("", other.label, other.figures, _ratio(other.ratio)))
        label, ratio = best_ceiling(s)
        lines.append(f"{'':<26} server / best ceiling ({label}): {_ratio(ratio)}")
    lines.append(
        "peak memory per worker (VmHWM): server "
        + _mb(phase.server_memory, peak=True)
        + "; ceiling "
        + _mb(phase.ceiling_memory, peak=True)
    )
    return lines


def _ratio(ratio: Spread) -> str:
    return f"{ratio.median:.2f} ({ratio.min:.2f}-{ratio.max:.2f})"


def _mb(memory: list[WorkerMemory], peak: bool) -> str:
    values = [m.peak_mb if peak else m.rss_mb for m in memory]
    return ", ".join(f"{v:.0f}" for v in values) + " MiB"


def _timing(timing: Timing | None) -> str:
    if timing is None:
        return "not measured: the answer has no ETag"
    return (
        f"median {timing.median_ms:.2f} ms, max {timing.max_ms:.2f} ms "
        f"({timing.count} requests, status {timing.status})"
    )


def render(results: Results) -> str:
    """Return the plain-text report."""
    s = results.settings
    capacity = results.client_capacity
    client_cpu = max(
        (t.client_cores for sc in results.main.scenarios for t in (sc.server, sc.ceiling)),
        default=0.0,
    )
    lines = [
        f"manage.py bench: {s.workers} workers per target on 127.0.0.1, {s.rounds} rounds of "
        f"{s.duration:g} s per scenario, the targets taking turns to go first. rows/s, "
        "p50 and p99 are medians over rounds; CPU us is the target's processes' user + system "
        "CPU time per request; server/target is the server's throughput over the target's.",
        "Targets: server = manage.py serve (buffering workers, the default); ceiling = a bare "
        "Flask route under gunicorn sync workers; sync workers = manage.py serve with "
        "REGISTRY_WORKER_CLASS=sync; granian ceiling = the same bare route under granian "
        "(WSGI), when installed; app on granian = the registry app itself under granian "
        "(not a supported setup: what a switch would give). In the stalled scenario, the "
        "stated number of other connections sit silent, mid-headers or mid-body during the "
        "load.",
        f"CAVEAT: the load generator runs on the same {results.cores} cores as the servers; "
        "it takes CPU from them. Load average (1 min) before and after the run: "
        f"{results.load_average[0]:.2f} and {results.load_average[1]:.2f}; other busy "
        "processes on the machine show up as noise.",
        f"Load generator: {results.tool}; against a trivial socket server it reaches "
        f"{_n(capacity.requests_per_second)} req/s at c={max(s.concurrency)}, spending "
        f"{capacity.client_cpu_seconds / max(capacity.completed, 1) * 1e6:.0f} us of CPU a "
        f"request. Under load it used at most {client_cpu:.2f} cores.",
        "Each request opens a connection (Connection: close), as sync gunicorn workers "
        "would close it anyway.",
        f"Ceiling: a bare Flask route under the same gunicorn settings; it parses the body with "
        f"{results.ceiling_parser} and answers a constant.",
        f"Model: {results.model}, published through the sandboxed intake. "
        f"Database: {results.database}.",
        "",
    ]
    lines += _phase_table(results.main)
    if results.scaling is not None:
        lines += ["", "Scaling: 1 worker against the run above"]
        wide = {sc.name: sc for sc in results.main.scenarios}
        for sc in results.scaling.scenarios:
            many = wide[sc.name]
            lines.append(
                f"  {sc.name:<18} server {_n(sc.server.requests_per_s.median)} -> "
                f"{_n(many.server.requests_per_s.median)} req/s "
                f"(x{many.server.requests_per_s.median / sc.server.requests_per_s.median:.2f}); "
                f"ceiling {_n(sc.ceiling.requests_per_s.median)} -> "
                f"{_n(many.ceiling.requests_per_s.median)} req/s "
                f"(x{many.ceiling.requests_per_s.median / sc.ceiling.requests_per_s.median:.2f})"
            )
    d = results.docs
    lines += [
        "",
        f"{SWAGGER} with {d.models} registered models ({d.size_bytes / 1e6:.2f} MB):",
        f"  first request after start       {d.first_after_start_ms:.1f} ms",
        f"  first request after a change    {_timing(d.first_after_change)} "
        f"(change: POST /models, {d.create_model_ms:.1f} ms)",
        f"  unchanged                       {_timing(d.unchanged)}",
        f"  unchanged, If-None-Match        {_timing(d.unchanged_if_none_match)}",
        f"  memory per worker after {d.predicted_requests} predictions over every model "
        f"({d.predict_errors} errors): peak {_mb(d.memory, peak=True)}, "
        f"now {_mb(d.memory, peak=False)}",
    ]
    if results.categories:
        lines += ["", "Big categoricals (upload: POST .../versions, activate=true, over HTTP):"]
    for c in results.categories:
        firsts = ", ".join(f"{ms:.0f}" for ms in c.first_predictions_ms) or "-"
        lines.append(
            f"  {c.categories:>7,} categories ({c.file_bytes / 1e6:.2f} MB): status {c.status}, "
            f"upload {c.upload_s:.2f} s; first single-row answers {firsts} ms"
        )
    lines += render_uploads(results.uploads)
    lines += [
        "",
        "Generation check (GenerationWatch.current() in-process, per call):",
    ]
    for cost in results.generation:
        lines.append(
            f"  {cost.backend:<11} {cost.unchanged_us:8.1f} us unchanged, "
            f"{cost.after_commit_us:8.1f} us right after a commit ({cost.calls} calls)"
        )
    lines += [f"  {error}" for error in results.generation_errors]
    if not any(c.backend == "postgresql" for c in results.generation):
        lines.append("  postgresql  not measured: give --postgres-url")
    cross = results.cross_server
    if cross is not None:
        lines += [
            "Two registries on one PostgreSQL database (in-process):",
            f"  {cross.queries_per_check:.3f} PostgreSQL transactions per prediction's registry"
            f" check (pg_stat_database, {cross.checks} checks in steady state)",
            f"  {cross.flips} generation bumps: {cross.write_ms:.1f} ms for the write to return"
            f" (median), then the other registry's first read {cross.first_read_us / 1e3:.1f} ms"
            f" (median), stale in {cross.stale} of {cross.flips}",
        ]
    for figures in results.many:
        lines += ["", *describe(figures)]
    lines.append(f"\nTook {results.seconds:.0f} s.")
    return "\n".join(lines)

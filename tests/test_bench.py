"""`manage.py bench --quick` runs end to end and writes every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_URL
from tests.live import ROOT

postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="needs REGISTRY_TEST_POSTGRES_URL")


def test_bench_quick_run_writes_the_figures(tmp_path):
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "manage.py", "bench", "--quick", "--models", "20", "--client", "builtin"]
        + ["--many-models", "15", "--json", str(out)],
        cwd=ROOT,
        # PostgreSQL's parts (generation check, many models) are the only-many test's and the
        # generation-push tests': here they took minutes of CI for nothing more.
        env={k: v for k, v in os.environ.items() if k != "REGISTRY_TEST_POSTGRES_URL"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CAVEAT" in done.stdout and "server/target" in done.stdout
    figures = json.loads(out.read_text())

    scenarios = {s["name"]: s for s in figures["main"]["scenarios"]}
    stalled = "1 row, c=16, 100 stalled"
    assert set(scenarios) == {"1 row, c=1", "1 row, c=16", "1000 rows, c=16", stalled}
    for scenario in scenarios.values():
        labels = [other["label"] for other in scenario["others"]]
        assert labels[0] == "sync workers"
        assert set(labels) <= {"sync workers", "granian ceiling", "app on granian"}
        # With stalled connections, gunicorn's sync workers (the ceiling's) stop answering.
        for target in ("server",) if scenario["name"] == stalled else ("server", "ceiling"):
            assert scenario[target]["requests_per_s"]["median"] > 0
            assert scenario[target]["errors"] == 0
            assert 0 < scenario[target]["p50_ms"]["median"] <= scenario[target]["p99_ms"]["median"]
    batch = scenarios["1000 rows, c=16"]["server"]
    assert batch["rows_per_s"]["median"] == pytest.approx(1000 * batch["requests_per_s"]["median"])

    for memory in (figures["main"]["server_memory"], figures["docs"]["memory"]):
        assert len(memory) == 2
        assert all(worker["peak_mb"] > 10 for worker in memory)
    assert figures["headline"]["server_peak_mb_per_worker"] > 10
    # The single-row ratio is taken to the fastest ceiling of the run (granian's when installed).
    single = figures["headline"]["1 row, c=16"]
    assert single["best_ceiling"] in {"ceiling", "granian ceiling"}
    assert single["ratio_to_best_ceiling"] > 0
    assert "server / best ceiling" in done.stdout

    docs = figures["docs"]
    assert docs["models"] == 20 and docs["predict_errors"] == 0
    assert docs["first_after_start_ms"] > 0
    assert docs["first_after_change"]["median_ms"] > 0
    assert docs["unchanged"]["median_ms"] > 0 and docs["unchanged"]["status"] == 200
    assert figures["generation"][0]["backend"] == "sqlite"
    assert figures["generation"][0]["unchanged_us"] > 0
    assert figures["client_capacity"]["completed"] > 0
    [upload] = figures["categories"]
    assert upload["categories"] == 1000 and upload["status"] == 201
    assert upload["upload_s"] > 0 and len(upload["first_predictions_ms"]) == 4
    _assert_uploads(figures["headline"]["uploads"])
    [many] = figures["many"]
    _check_many(many, "sqlite", 15)


def _assert_uploads(uploads: dict) -> None:
    # Both intake paths, measured in turn: a fresh interpreter per upload and the zygote.
    assert set(uploads) == {"fresh interpreter", "zygote"}
    for path in uploads.values():
        assert path["failures"] == [] and path["one_at_a_time"] == 1
        assert 0 < path["p50_s"] <= path["p99_s"]
        assert path["uploads_per_s_4_parallel"] > 0 and len(path["cold_s"]) == 1


def test_bench_can_time_only_the_uploads(tmp_path):
    out = tmp_path / "uploads.json"
    done = subprocess.run(
        [sys.executable, "manage.py", "bench", "--uploads-only", "--uploads", "1"]
        + ["--upload-rounds", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Small-model uploads" in done.stdout and "zygote" in done.stdout
    _assert_uploads(json.loads(out.read_text()))


def _check_many(many, backend, models):
    assert many["backend"] == backend and many["models"] == models
    assert many["start_to_ready_s"] > 0 and many["start_cpu_s"] > 0
    assert len(many["memory_after_start"]) == 2 and len(many["memory_after_predicting_all"]) == 2
    for part in ("swagger_after_change", "openapi_after_change", "model_spec_after_change"):
        assert many[part]["count"] == min(10, models) and many[part]["errors"] == 0
        assert 0 < many[part]["p50_ms"] <= many[part]["p99_ms"]
    assert many["first_prediction_untouched"]["count"] == max(1, models - 10)
    assert many["list_pages"]["count"] == many["search_pages"]["count"] == 10


def test_bench_only_many_models(tmp_path):
    """The many-models part alone, on SQLite and on PostgreSQL when the suite has one."""
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "manage.py", "bench", "--only-many", "--quick", "--many-models", "12"]
        + ["--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "first prediction of an untouched model" in done.stdout
    parts = json.loads(out.read_text())["many"]
    _check_many(parts[0], "sqlite", 12)
    if os.environ.get("REGISTRY_TEST_POSTGRES_URL"):
        _check_many(parts[1], "postgresql", 12)


@postgres_only
def test_bench_counts_postgres_queries_per_check_and_cross_server_visibility():
    # The figures the full bench prints for PostgreSQL, in-process: with the push listener a
    # prediction's registry check sends no query in steady state, and a second registry on the
    # same database sees every write on its first read after the write returned.
    from registry.bench.generation import measure_cross_server, scratch_postgres

    with scratch_postgres(POSTGRES_URL) as url:
        figures = measure_cross_server(url, checks=500, flips=5)
    assert figures.queries_per_check < 0.05
    assert figures.stale == 0 and figures.flips == 5
    assert figures.write_ms > 0 and figures.first_read_us > 0

"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST

from registry.api.context import registry
from registry.api.jsonio import json_response
from registry.errors import DatabaseUnavailable
from registry.intake.sandbox import IntakeLimits
from registry.services.integrity import store_problems

log = logging.getLogger(__name__)


def live() -> Response:
    # Liveness says the worker answers; it never touches the database, so a database that
    # hangs or is down does not get healthy workers restarted.
    return json_response({"status": "ok"})


def ready() -> Response:
    reg = registry()
    checks = {"database": False, "artifact_store": False}
    problems: list[str] = []
    try:
        # The database file (SQLite) is where it was, and the schema answers.
        reg.db.probe()
        checks["database"] = True
        with reg.db.read() as session:
            # The newest versions' files are there, and the root takes a write.
            problems = store_problems(session, reg.store)
            checks["artifact_store"] = not problems
    except DatabaseUnavailable:
        pass  # logged once per incident by the database's health record, not once per probe
    except Exception as error:  # noqa: BLE001 - readiness reports, it does not raise
        log.warning("Readiness check failed: %s", error)
    # Uploads fail closed when a fence is down, so readiness says which one.
    fences = reg.fence_check.report(IntakeLimits.from_config(reg.config))
    checks["intake_sandbox"] = not fences.missing
    ok = all(checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks, "problems": problems}
    body["intake_sandbox"] = fences.to_json()
    return json_response(body, 200 if ok else 503)


def metrics() -> Response:
    return Response(registry().metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def register_operations(app: Flask) -> None:
    """Add /health/live, /health/ready and /metrics."""
    app.add_url_rule("/health/live", "health_live", live)
    app.add_url_rule("/health/ready", "health_ready", ready)
    app.add_url_rule("/metrics", "metrics", metrics)

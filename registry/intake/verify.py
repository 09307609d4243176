"""Recompute probe rows from a plan and require scikit-learn's own outputs to within 1e-9."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from registry.errors import UnsupportedEstimator, UntrustedArtifact
from registry.plans import Feature, Plan

RELATIVE_TOLERANCE = 1e-9
MAX_PROBE_ROWS = 4096


def _malformed(what: str) -> UntrustedArtifact:
    return UntrustedArtifact(f"The sandboxed reader's probe {what} are malformed.")


def _valid_value(value: Any, feature: Feature) -> bool:
    if value is None:
        return feature.nullable
    if feature.enum is not None:
        return any(type(value) is type(v) and value == v for v in feature.enum)
    return type(value) in (int, float) and math.isfinite(value)


def _check_rows(plan: Plan, rows: Any) -> int:
    if type(rows) is not dict or set(rows) != {f.name for f in plan.features}:
        raise _malformed("rows")
    lengths = {len(v) if type(v) is list else -1 for v in rows.values()}
    if len(lengths) != 1 or not 0 < (n := lengths.pop()) <= MAX_PROBE_ROWS:
        raise _malformed("rows")
    for feature in plan.features:
        if not all(_valid_value(v, feature) for v in rows[feature.name]):
            raise _malformed("rows")
    return n


def _check_outputs(outputs: Any, n: int, width: int) -> np.ndarray:
    if type(outputs) is not list or len(outputs) != n:
        raise _malformed("outputs")
    for row in outputs:
        if type(row) is not list or len(row) != width:
            raise _malformed("outputs")
        if not all(type(v) in (int, float) and math.isfinite(v) for v in row):
            raise _malformed("outputs")
    return np.array(outputs, dtype=np.float64)


def check_probes(plan: Plan, rows: Any, outputs: Any) -> None:
    """Refuse unless the plan reproduces every probe output to 1e-9 relative (1e-9 floor).

    Raises UntrustedArtifact for malformed probes and UnsupportedEstimator for a mismatch.
    """
    n = _check_rows(plan, rows)
    width = 1 if plan.kind == "linear" else len(plan.classes or ())
    expected = _check_outputs(outputs, n, width)
    result = plan.predict(rows)
    if plan.kind == "linear":
        got = np.array(result.predictions, dtype=np.float64).reshape(-1, 1)
    else:
        got = result.probabilities
    scale = np.maximum(np.maximum(np.abs(got), np.abs(expected)), 1.0)
    worst = float(np.max(np.abs(got - expected) / scale))
    if not worst <= RELATIVE_TOLERANCE:
        raise UnsupportedEstimator(
            "The plan extracted from the model does not reproduce scikit-learn's own outputs "
            f"(relative difference {worst:.1e}); this configuration is not supported."
        )
